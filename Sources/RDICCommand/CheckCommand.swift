import ArgumentParser
import Foundation
import Providers

/// `rdic check`: is every configured backend reachable with the configured key?
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Send a tiny real request to every configured backend and report PASS/FAIL/SKIP.",
        discussion: """
            Exit status: 0 when every configured backend answered, 1 when one failed, 2 when nothing \
            was checked. Backends come from ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, OPENAI_BASE_URL / \
            OPENAI_API_KEY with OPENAI_MODEL, OLLAMA_HOST, or the config file (see ProviderConfig); \
            the local default model is checked too, and gemma-3-12b runs locally when its GGUF is \
            installed or in Ollama's or Hugging Face's store. Keys are never printed.
            """)

    @Option(name: .long, help: "Config file (default: ~/.config/rdic/config.toml).")
    var config: String?

    @Option(name: .long, help: "Check only this alias (repeatable).")
    var model: [String] = []

    @Option(name: .long, help: "Seconds one backend may take, retries included.")
    var timeout: Double = 60

    @Flag(name: .long, help: "Print retry notices to standard error.")
    var verbose = false

    func run() async throws {
        let providerConfig: ProviderConfig
        do { providerConfig = try ProviderConfig.load(path: config) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let verbose = self.verbose
        let factory = ProviderFactory(config: providerConfig, log: { line in
            if verbose { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
        }, local: localProviderMaker, localModels: localModels())
        var aliases: [ModelAlias]? = nil
        if !model.isEmpty {
            do { aliases = try model.map(factory.resolve) } catch {
                await factory.shutdown()
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
        let report = await CheckRunner.run(factory: factory, aliases: aliases,
                                           limit: .milliseconds(Int64(max(0.001, timeout) * 1000)))
        await factory.shutdown()
        for line in report.lines { print(line) }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
