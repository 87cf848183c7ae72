import Foundation
import GGUF
import TestSupport
import Testing

@Suite(.computeBound) struct ModelCommandTests {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-cli-\(UUID().uuidString)")
    var env: [String: String] { ["RDIC_HOME": home.path, "OLLAMA_MODELS": home.path + "/o", "HF_HUB_CACHE": home.path + "/h"] }

    @Test func installListDefaultRemove() throws {
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        var writer = GGUFWriter(metadata: GGUFMetadata(["general.architecture": .string("llama")]))
        try writer.addTensor(name: "t", shape: [4], floats: [1, 2, 3, 4])
        let path = home.appendingPathComponent("Tiny.gguf").path
        try writer.write(to: URL(fileURLWithPath: path))

        let install = try RDICBinary.run(["model", "install", path, "--name", "tiny"], environment: env)
        #expect(install.status == 0)
        #expect(install.stdout == "Installed tiny at \(path)\n")

        let list = try RDICBinary.run(["model", "list"], environment: env)
        #expect(list.status == 0)
        #expect(list.stdout.contains("  tiny "))
        #expect(list.stdout.contains("* smollm2-135m"), "the built-in default is offered for install")

        #expect(try RDICBinary.run(["model", "default", "tiny"], environment: env).status == 0)
        #expect(try RDICBinary.run(["model", "default"], environment: env).stdout == "tiny\n")
        #expect(try RDICBinary.run(["model", "rm", "tiny"], environment: env).status == 0)
        #expect(try RDICBinary.run(["model", "default"], environment: env).stdout == "smollm2-135m\n")
    }

    @Test func badInputFailsWithAMessage() throws {
        let missing = try RDICBinary.run(["model", "install", "/no/such/model.gguf"], environment: env)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("unknown model '/no/such/model.gguf'"))
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let text = home.appendingPathComponent("notes.txt")
        try Data("just some notes".utf8).write(to: text)
        let notModel = try RDICBinary.run(["model", "install", text.path], environment: env)
        #expect(notModel.status != 0)
        #expect(notModel.stderr.contains("not a usable GGUF model: not a GGUF file"))
        let unknownDefault = try RDICBinary.run(["model", "default", "nope"], environment: env)
        #expect(unknownDefault.status != 0)
        #expect(unknownDefault.stderr.contains("not installed"))
    }

    /// `model synthesize` refuses an unknown shape and an existing output without `--force`
    /// (a 7 GB file is not replaced by accident), before any work.
    @Test func synthesizeRefusesBadInput() throws {
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let unknown = try RDICBinary.run(["model", "synthesize", "gemma3-99b", "-o", home.path + "/x.gguf"], environment: env)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown shape 'gemma3-99b' (known: gemma3-12b, llama3.1-8b)"))
        let existing = home.appendingPathComponent("keep.gguf")
        try Data("precious".utf8).write(to: existing)
        let refused = try RDICBinary.run(["model", "synthesize", "gemma3-12b", "-o", existing.path], environment: env)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("already exists (use --force to replace it)"))
        #expect(try Data(contentsOf: existing) == Data("precious".utf8))
    }

    /// The suite finds its models where `rdic model install` puts them, whatever `HOME`,
    /// `XDG_DATA_HOME` and `RDIC_HOME` say (the first case is issue 16's: `HOME` elsewhere, as root).
    @Test(arguments: [
        ["HOME": "/fake-home", "XDG_DATA_HOME": "", "RDIC_HOME": ""],
        ["HOME": "/fake-home", "XDG_DATA_HOME": "/fake-data", "RDIC_HOME": ""],
        ["HOME": "/fake-home", "XDG_DATA_HOME": "/fake-data", "RDIC_HOME": "/fake-store"],
    ])
    func testsLookWhereTheToolInstalls(_ overrides: [String: String]) throws {
        var additions = overrides.mapValues { $0.isEmpty ? $0 : home.path + $0 }
        additions["OLLAMA_MODELS"] = env["OLLAMA_MODELS"]
        additions["HF_HUB_CACHE"] = env["HF_HUB_CACHE"]
        let list = try RDICBinary.run(["model", "list"], environment: additions)
        #expect(list.status == 0, "\(list.stderr)")
        let header = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix("Installed (") })
        let toolStore = String(header.dropFirst("Installed (".count).dropLast("):".count))
        // What the child saw, with an empty variable left out (as unset) for the suite's side.
        let childEnvironment = ProcessInfo.processInfo.environment.merging(additions) { $1 }.filter { !$0.value.isEmpty }
        #expect(TestModels.searchPaths(environment: childEnvironment).last == toolStore + "/models")
        #expect(toolStore.hasPrefix(home.path + "/fake-"), "the store follows the environment, not the real home")
    }
}
