import Foundation
import GGUF
@testable import ModelStore
import TestSupport
import Testing

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-test-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A small but valid GGUF model file's bytes.
func tinyGGUF(architecture: String = "llama") throws -> [UInt8] {
    var w = GGUFWriter(metadata: GGUFMetadata(["general.architecture": .string(architecture)]))
    try w.addTensor(name: "token_embd.weight", shape: [32, 4], floats: (0..<128).map(Float.init))
    return w.encoded()
}

func sha256(_ bytes: [UInt8]) -> String {
    var h = SHA256()
    h.update(bytes)
    return h.finalize()
}

@Suite struct StoreTests {
    let home = temporaryDirectory()
    var store: ModelStore { ModelStore(home: home, environment: ["HOME": home.path, "OLLAMA_MODELS": home.path + "/none", "HF_HUB_CACHE": home.path + "/none"]) }

    @Test func defaultIsTheInstructionTunedModel() throws {
        #expect(try store.defaultModelName() == "smollm2-135m")
        #expect(throws: ModelStoreError.notInstalled("smollm2-135m")) { try store.resolve("smollm2-135m") }
        #expect(throws: ModelStoreError.unknownModel("nope", known: ["smollm2-135m", "gemma3-270m"])) { try store.resolve("nope") }
        #expect(throws: ModelStoreError.notInstalled("nope")) { try store.setDefault("nope") }
    }

    @Test func homeFollowsTheEnvironment() {
        // $HOME wins even for root, whose NSHomeDirectory() ignores it on Linux.
        #expect(ModelStore.fromEnvironment(["HOME": "/h"]).home.path == "/h/.local/share/rdic")
        #expect(ModelStore.fromEnvironment(["HOME": "/h", "XDG_DATA_HOME": "/x"]).home.path == "/x/rdic")
        #expect(ModelStore.fromEnvironment(["HOME": "/h", "RDIC_HOME": "/r"]).home.path == "/r")
        #expect(ModelStore.fromEnvironment(["HOME": "/h"]).ollamaModelsDirectory.path == "/h/.ollama/models")
    }

    @Test func registersLocalFileInPlace() async throws {
        let file = home.appendingPathComponent("My-Model.gguf")
        let bytes = try tinyGGUF()
        try Data(bytes).write(to: file)
        let model = try await store.install(file.path)
        #expect(model.name == "my-model")
        #expect(model.path == file.path)
        #expect(try store.resolve("my-model") == model)
        try store.setDefault("my-model")
        #expect(try store.defaultModelName() == "my-model")
        // The registry survives a new store object (it is on disk).
        #expect(try ModelStore(home: home).installed().map(\.name) == ["my-model"])
        try store.remove("my-model")
        #expect(FileManager.default.fileExists(atPath: file.path), "a file registered in place is not deleted")
        #expect(try store.defaultModelName() == "smollm2-135m")
    }

    @Test func rejectsFilesThatAreNotModels() async throws {
        let file = home.appendingPathComponent("notes.gguf")
        try Data("hello, this is not a model".utf8).write(to: file)
        await #expect(throws: ModelStoreError.self) { try await store.install(file.path) }
        #expect(try store.installed().isEmpty)
        await #expect(throws: ModelStoreError.unknownModel("/no/such/file.gguf", known: ["smollm2-135m", "gemma3-270m"])) {
            try await store.install("/no/such/file.gguf")
        }
    }

    @Test func localChecksumIsVerified() async throws {
        let file = home.appendingPathComponent("m.gguf")
        let bytes = try tinyGGUF()
        try Data(bytes).write(to: file)
        await #expect(throws: ModelStoreError.checksumMismatch(file: file.path, expected: String(repeating: "0", count: 64), actual: sha256(bytes))) {
            try await store.install(file.path, sha256: String(repeating: "0", count: 64))
        }
        let ok = try await store.install(file.path, sha256: sha256(bytes))
        #expect(ok.sha256 == sha256(bytes))
    }

    @Test func corruptRegistryIsReportedNotOverwritten() throws {
        try Data("{not json".utf8).write(to: home.appendingPathComponent("models.json"))
        #expect(throws: ModelStoreError.self) { try store.installed() }
        #expect(try String(contentsOf: home.appendingPathComponent("models.json"), encoding: .utf8) == "{not json")
    }
}

@Suite struct DiscoveryTests {
    @Test func findsOllamaAndHuggingFaceModels() throws {
        let root = temporaryDirectory()
        let bytes = try tinyGGUF()
        let digest = sha256(bytes)
        // Ollama: a manifest pointing at a blob by digest.
        let ollama = root.appendingPathComponent("ollama")
        let manifestDir = ollama.appendingPathComponent("manifests/registry.ollama.ai/library/gemma3")
        try FileManager.default.createDirectory(at: manifestDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: ollama.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try Data(bytes).write(to: ollama.appendingPathComponent("blobs/sha256-\(digest)"))
        let manifest = """
        {"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.license","digest":"sha256:00","size":1},
        {"mediaType":"application/vnd.ollama.image.model","digest":"sha256:\(digest)","size":\(bytes.count)}]}
        """
        try Data(manifest.utf8).write(to: manifestDir.appendingPathComponent("12b"))
        // Hugging Face: a snapshot file linking to a blob.
        let hub = root.appendingPathComponent("hub")
        let snapshot = hub.appendingPathComponent("models--google--gemma-3-12b-it-GGUF/snapshots/abc123")
        let blobs = hub.appendingPathComponent("models--google--gemma-3-12b-it-GGUF/blobs")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try Data(bytes).write(to: blobs.appendingPathComponent(digest))
        try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent("gemma-3-12b-it-Q4_K_M.gguf").path,
                                                   withDestinationPath: "../../blobs/\(digest)")
        try Data("not gguf".utf8).write(to: snapshot.appendingPathComponent("broken.gguf"))

        let store = ModelStore(home: root.appendingPathComponent("rdic"),
                               environment: ["OLLAMA_MODELS": ollama.path, "HF_HUB_CACHE": hub.path])
        let found = store.discover()
        #expect(found.map(\.name) == ["ollama:gemma3:12b", "hf:google/gemma-3-12b-it-GGUF/gemma-3-12b-it-Q4_K_M.gguf"])
        #expect(found.map(\.source) == ["ollama", "huggingface"])
        #expect(found[0].sha256 == digest)
        #expect(try store.resolve("ollama:gemma3:12b").path == ollama.appendingPathComponent("blobs/sha256-\(digest)").path)
        #expect(try GGUFFile(path: store.resolve("hf:google/gemma-3-12b-it-GGUF/gemma-3-12b-it-Q4_K_M.gguf").path).tensors.count == 1)
        try store.setDefault("ollama:gemma3:12b")
        #expect(try store.defaultModelName() == "ollama:gemma3:12b")
    }
}
