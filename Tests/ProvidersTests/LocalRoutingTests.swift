import Foundation
import Testing
@testable import Providers

/// Which models the local engine answers for, given what the model store says is on disk.
@Suite struct LocalRoutingTests {
    static func factory(toml: String = "", defaultModel: String?, onDisk: [String: String]) throws -> ProviderFactory {
        ProviderFactory(config: try ProviderConfig.parse(toml: toml, environment: [:]), transport: Recorder().transport(),
                        local: { _ in EchoLocalProvider() },
                        localModels: LocalModels(defaultModel: defaultModel) { onDisk[$0.name] })
    }

    @Test func theLocalDefaultModelIsCheckedAndPasses() async throws {
        let factory = try Self.factory(defaultModel: "smollm2-135m", onDisk: [:])
        let report = await CheckRunner.run(factory: factory)
        await factory.shutdown()
        #expect(report.lines.contains { $0.hasPrefix("✓ PASS  smollm2-135m  (") })
        #expect(report.lines.contains("- SKIP  gemma-3-12b  (OLLAMA_HOST not set)"))
        #expect(report.lines.last == "2 passed, 0 failed, 5 skipped")
        #expect(report.exitCode == 0)
    }

    @Test func aDefaultModelWithAnAliasIsCheckedOnce() async throws {
        let factory = try Self.factory(defaultModel: "gemma3-270m", onDisk: [:])
        #expect(factory.checkTargets.filter { $0.name == "gemma3-270m" }.count == 1)
        #expect(factory.checkTargets == factory.config.aliases)
        await factory.shutdown()
    }

    @Test func gemma12BRunsLocallyWhenItsFileIsHere() async throws {
        let here = try Self.factory(defaultModel: nil, onDisk: ["gemma-3-12b": "/models/gemma-3-12b-it-Q4_K_M.gguf"])
        #expect(try here.resolve("gemma-3-12b") == ModelAlias(name: "gemma-3-12b", backend: .local, model: "/models/gemma-3-12b-it-Q4_K_M.gguf"))
        #expect(try here.provider(named: "gemma-3-12b").backend == .local)
        let builtin = try #require(ModelAliases.builtin.first { $0.name == "gemma-3-12b" })
        #expect(try here.provider(for: builtin).backend == .local, "from Swift as from the CLI")
        let absent = try Self.factory(defaultModel: nil, onDisk: [:])
        #expect(try absent.resolve("gemma-3-12b") == ModelAlias(name: "gemma-3-12b", backend: .ollama, model: "gemma3:12b"))
        #expect(try here.resolve("ollama:gemma3:12b").backend == .ollama, "an explicit backend is kept")
        let userAlias = "[aliases.gemma-3-12b]\nbackend = \"ollama\"\nmodel = \"gemma3:12b-it-qat\"\n"
        let overridden = try Self.factory(toml: userAlias, defaultModel: nil, onDisk: ["gemma-3-12b": "/models/x.gguf"])
        #expect(try overridden.resolve("gemma-3-12b").backend == .ollama, "a user's own alias is kept")
        for factory in [here, absent, overridden] { await factory.shutdown() }
    }
}
