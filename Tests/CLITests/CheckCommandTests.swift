import Foundation
import TestSupport
import Testing

/// `rdic check` and `rdic ask` on a machine with no hosted backend configured, only local models.
@Suite(.computeBound) struct CheckCommandTests {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-check-\(UUID().uuidString)")
    /// Nothing configured: no keys, no servers, no config file, empty model caches.
    var env: [String: String] {
        ["RDIC_HOME": home.path, "OLLAMA_MODELS": home.path + "/ollama", "HF_HUB_CACHE": home.path + "/hf",
         "XDG_CONFIG_HOME": home.path + "/config", "ANTHROPIC_API_KEY": "", "DEEPSEEK_API_KEY": "",
         "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "OPENAI_MODEL": "", "OLLAMA_HOST": "", "OLLAMA_API_KEY": ""]
    }

    @Test func checksTheInstalledDefaultModel() throws {
        let smollm = try TestModels.path(for: .smollm2)
        #expect(try RDICBinary.run(["model", "install", smollm, "--name", "smollm2-135m"], environment: env).status == 0)
        let r = try RDICBinary.run(["check"], environment: env)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("✓ PASS  smollm2-135m  (") }, "\(r.stdout)")
        #expect(lines.contains("- SKIP  gemma3-270m  (model 'gemma3-270m' is not installed; run: rdic model install gemma3-270m)"))
        #expect(lines.contains("- SKIP  gemma-3-12b  (OLLAMA_HOST not set)"))
        #expect(lines.last == "1 passed, 0 failed, 6 skipped")
    }

    /// The alias of the local model of record runs on the local engine when a GGUF for it is in
    /// Ollama's store, in the Hugging Face cache, or installed under its name (Gemma 3 270M's
    /// file stands in for the 12B here: the same architecture, small enough to run in a test).
    @Test func gemma12BAliasUsesALocalFile() throws {
        let gemma = try TestModels.path(for: .gemma3)
        let fm = FileManager.default
        let digest = String(repeating: "0123456789abcdef", count: 4)
        let manifests = home.appendingPathComponent("ollama/manifests/registry.ollama.ai/library/gemma3")
        try fm.createDirectory(at: manifests, withIntermediateDirectories: true)
        try fm.createDirectory(at: home.appendingPathComponent("ollama/blobs"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: home.path + "/ollama/blobs/sha256-" + digest, withDestinationPath: gemma)
        let manifest = #"{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:\#(digest)","size":1}]}"#
        try Data(manifest.utf8).write(to: manifests.appendingPathComponent("12b"))
        let fromOllama = try RDICBinary.run(["check", "--model", "gemma-3-12b"], environment: env)
        #expect(fromOllama.status == 0, "\(fromOllama.stdout)\(fromOllama.stderr)")
        #expect(fromOllama.stdout.hasPrefix("✓ PASS  gemma-3-12b  ("))
        try fm.removeItem(at: home.appendingPathComponent("ollama"))

        let snapshot = home.appendingPathComponent("hf/models--google--gemma-3-12b-it-GGUF/snapshots/0123abc")
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: snapshot.path + "/gemma-3-12b-it-Q4_K_M.gguf", withDestinationPath: gemma)
        let fromHF = try RDICBinary.run(["check", "--model", "gemma-3-12b"], environment: env)
        #expect(fromHF.status == 0, "\(fromHF.stdout)\(fromHF.stderr)")
        try fm.removeItem(at: home.appendingPathComponent("hf"))

        let absent = try RDICBinary.run(["check", "--model", "gemma-3-12b"], environment: env)
        #expect(absent.stdout.hasPrefix("- SKIP  gemma-3-12b  (OLLAMA_HOST not set)"), "else Ollama, as before")

        #expect(try RDICBinary.run(["model", "install", gemma, "--name", "gemma-3-12b"], environment: env).status == 0)
        let answer = try RDICBinary.run(["ask", "--model", "gemma-3-12b", "--max-tokens", "4", "--temperature", "0",
                                         "The capital of France is"], environment: env)
        #expect(answer.status == 0, "\(answer.stderr)")
        #expect(!answer.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }
}
