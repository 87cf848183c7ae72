import Foundation
@testable import ModelStore
import Testing

/// Which file on this machine answers for an alias such as `gemma-3-12b`.
@Suite struct LocalMatchTests {
    @Test func prefersInstalledThenOllamaThenTheHubsQ4KMWeights() async throws {
        let root = temporaryDirectory()
        let bytes = try tinyGGUF(architecture: "gemma3")
        let fm = FileManager.default
        let snapshot = root.appendingPathComponent("hub/models--bartowski--google_gemma-3-12b-it-GGUF/snapshots/r1")
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        for file in ["mmproj-google_gemma-3-12b-it-f16.gguf", "google_gemma-3-12b-it-Q8_0.gguf", "google_gemma-3-12b-it-Q4_K_M.gguf"] {
            try Data(bytes).write(to: snapshot.appendingPathComponent(file))
        }
        let store = ModelStore(home: root.appendingPathComponent("rdic"),
                               environment: ["OLLAMA_MODELS": root.path + "/ollama", "HF_HUB_CACHE": root.path + "/hub"])
        #expect(store.localMatch(alias: "gemma-3-12b", ollamaModel: "gemma3:12b")?.name
                == "hf:bartowski/google_gemma-3-12b-it-GGUF/google_gemma-3-12b-it-Q4_K_M.gguf")
        #expect(store.localMatch(alias: "gemma-3-27b") == nil)

        let blob = root.appendingPathComponent("ollama/blobs/sha256-" + sha256(bytes))
        try fm.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: blob)
        let manifests = root.appendingPathComponent("ollama/manifests/registry.ollama.ai/library/gemma3")
        try fm.createDirectory(at: manifests, withIntermediateDirectories: true)
        try Data(#"{"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:\#(sha256(bytes))"}]}"#.utf8)
            .write(to: manifests.appendingPathComponent("12b"))
        #expect(store.localMatch(alias: "gemma-3-12b", ollamaModel: "gemma3:12b")?.path == blob.path)

        let own = root.appendingPathComponent("mine.gguf")
        try Data(bytes).write(to: own)
        try await store.install(own.path, as: "gemma-3-12b")
        #expect(store.localMatch(alias: "gemma-3-12b", ollamaModel: "gemma3:12b")?.path == own.path)
    }
}
