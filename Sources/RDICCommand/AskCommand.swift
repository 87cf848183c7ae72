import ArgumentParser
import Foundation
import Providers

/// `rdic ask`: one prompt to any backend, streamed.
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask any configured backend and stream the answer.",
        discussion: """
            MODEL is an alias (claude-haiku-4.5, claude-sonnet-4.5, deepseek-r1, deepseek-v3, gemma-3-12b, \
            gemma3-270m, smollm2-135m, or one from the config file) or backend:model-id, e.g. openai:Qwen/Qwen2.5-7B-Instruct \
            or ollama:llama3.2. Use "-" as the prompt to read it from standard input.
            """)

    @Option(name: .long, help: "Model alias or backend:model-id.")
    var model: String

    @Argument(help: "The prompt (\"-\" reads standard input).")
    var prompt: String

    @Option(name: .long, help: "System prompt.")
    var system: String?

    @Option(name: .long, help: "Maximum tokens to generate.")
    var maxTokens: Int = 1024

    @Option(name: .long, help: "Sampling temperature.")
    var temperature: Double?

    @Option(name: .long, help: "Nucleus sampling probability.")
    var topP: Double?

    @Option(name: .long, help: "Stop sequence (repeatable).")
    var stop: [String] = []

    @Option(name: .long, help: "Sampling seed, where the backend supports one.")
    var seed: Int?

    @Option(name: .long, help: "Enable opt-in reasoning with this token budget (Anthropic extended thinking, Ollama think).")
    var thinkingBudget: Int?

    @Flag(name: .long, help: "Also print the reasoning trace of reasoning models.")
    var showReasoning = false

    @Flag(name: .long, help: "Print one JSON object instead of streaming text.")
    var json = false

    @Option(name: .long, help: "Config file (default: ~/.config/rdic/config.toml).")
    var config: String?

    @Flag(name: .long, help: "Print retry notices to standard error.")
    var verbose = false

    func run() async throws {
        let providerConfig: ProviderConfig
        do { providerConfig = try ProviderConfig.load(path: config) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var promptText = prompt
        if prompt == "-" {
            promptText = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let verbose = self.verbose
        let factory = ProviderFactory(config: providerConfig, log: { line in
            if verbose { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
        }, local: localProviderMaker, localModels: localModels())
        let options = AskOptions(model: model, prompt: promptText, system: system, maxTokens: maxTokens,
                                 temperature: temperature, topP: topP, stop: stop, seed: seed, thinkingBudget: thinkingBudget,
                                 showReasoning: showReasoning, json: json)
        let status = await AskRunner.run(options, factory: factory,
                                         out: { FileHandle.standardOutput.write(Data($0.utf8)) },
                                         err: { FileHandle.standardError.write(Data($0.utf8)) })
        await factory.shutdown()
        if status != 0 { throw ExitCode(status) }
    }
}
