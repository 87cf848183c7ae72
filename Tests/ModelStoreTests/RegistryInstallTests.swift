import Foundation
@testable import ModelStore
import TestSupport
import Testing

/// A loopback server speaking the two registries' download protocols: the Hugging Face Hub's
/// tree API and `resolve` URLs (302 to a CDN URL, with `X-Linked-Etag`), and Ollama's Docker
/// registry v2 API (manifest, then a blob redirected to storage). Stored bytes honour Range;
/// the first download of each test can be cut short to force a resume.
final class FakeRegistries: Sendable {
    struct HubFile: Sendable {
        var path: String
        var bytes: [UInt8]
        /// The sha256 the tree API announces (normally the file's own).
        var announced: String?
    }

    let server: LocalHTTPServer
    var baseURL: String { server.baseURL }
    var requests: [LocalHTTPServer.Request] { server.requests }

    init(hub: [String: [HubFile]] = [:], ollama: [String: (digest: String, blob: [UInt8])] = [:], dropFirstDownloadAfter: Int? = nil) throws {
        var stored: [String: [UInt8]] = [:]
        for file in hub.values.flatMap({ $0 }) { stored["/cdn/lfs/" + (file.announced ?? sha256(file.bytes))] = file.bytes }
        for image in ollama.values { stored["/storage/" + image.digest] = image.blob }
        let blobs = stored
        let downloads = Counter()
        server = try LocalHTTPServer { request in
            let path = request.path
            if path.hasPrefix("/api/models/"), let range = path.range(of: "/tree/main") {
                let repo = String(path[path.index(path.startIndex, offsetBy: 12)..<range.lowerBound])
                guard let files = hub[repo] else { return Self.json(404, #"{"error":"Repository not found"}"#) }
                let entries = files.map { f in
                    #"{"type":"file","oid":"\#(String(repeating: "e", count: 40))","size":\#(f.bytes.count),"path":"\#(f.path)","lfs":{"oid":"\#(f.announced ?? sha256(f.bytes))","size":\#(f.bytes.count),"pointerSize":134}}"#
                } + [#"{"type":"file","oid":"\#(String(repeating: "d", count: 40))","size":9,"path":"README.md"}"#,
                     #"{"type":"directory","oid":"\#(String(repeating: "c", count: 40))","size":0,"path":"extra"}"#]
                return Self.json(200, "[" + entries.joined(separator: ",") + "]")
            }
            if let range = path.range(of: "/resolve/main/") {
                let repo = String(path[path.index(after: path.startIndex)..<range.lowerBound])
                let name = String(path[range.upperBound...]).removingPercentEncoding ?? ""
                guard let file = hub[repo]?.first(where: { $0.path == name }) else { return Self.json(404, #"{"error":"Entry not found"}"#) }
                let oid = file.announced ?? sha256(file.bytes)
                return .init(status: 302, headers: [("Location", "/cdn/lfs/" + oid), ("X-Linked-Etag", "\"\(oid)\""),
                                                    ("X-Linked-Size", "\(file.bytes.count)")], body: [])
            }
            if path.hasPrefix("/v2/"), let range = path.range(of: "/manifests/") {
                let name = String(path[path.index(path.startIndex, offsetBy: 4)..<range.lowerBound])
                let key = name.replacingOccurrences(of: "library/", with: "") + ":" + path[range.upperBound...]
                guard request.headers["accept"]?.contains("application/vnd.docker.distribution.manifest.v2+json") == true,
                      let image = ollama[key]
                else { return Self.json(404, #"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#) }
                return Self.json(200, #"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:\#(String(repeating: "b", count: 64))","size":490},"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"\#(image.digest)","size":\#(image.blob.count)},{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:\#(String(repeating: "a", count: 64))","size":358}]}"#)
            }
            if path.hasPrefix("/v2/"), let range = path.range(of: "/blobs/") {
                let digest = String(path[range.upperBound...])
                guard blobs["/storage/" + digest] != nil else { return Self.json(404, #"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#) }
                return .init(status: 307, headers: [("Location", "/storage/" + digest)], body: [])
            }
            guard let bytes = blobs[path] else { return .init(status: 404, body: Array("not found".utf8)) }
            var start = 0
            if let header = request.headers["range"], header.hasPrefix("bytes="), let s = Int(header.dropFirst(6).split(separator: "-")[0]) {
                start = s
            }
            let drop = downloads.increment() == 1 ? dropFirstDownloadAfter : nil
            return .init(status: start > 0 ? 206 : 200,
                         headers: start > 0 ? [("Content-Range", "bytes \(start)-\(bytes.count - 1)/\(bytes.count)")] : [],
                         body: Array(bytes[start...]), dropAfter: drop)
        }
    }

    static func json(_ status: Int, _ text: String) -> LocalHTTPServer.Response {
        .init(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
    }

    func store(home: URL = temporaryDirectory()) -> ModelStore {
        ModelStore(home: home, environment: ["HOME": home.path, "HF_ENDPOINT": baseURL, "RDIC_OLLAMA_REGISTRY": baseURL + "/",
                                             "OLLAMA_MODELS": home.path + "/none", "HF_HUB_CACHE": home.path + "/none"])
    }

    deinit { server.stop() }
}

@Suite struct RegistryInstallTests {
    @Test func huggingFaceRepoTakesTheQ4KMFileAndResumes() async throws {
        let q4 = try tinyGGUF(), q8 = try tinyGGUF(architecture: "gemma3")
        let registries = try FakeRegistries(hub: ["bartowski/Tiny-GGUF": [
            .init(path: "Tiny-Q8_0.gguf", bytes: q8), .init(path: "Tiny-Q4_K_M.gguf", bytes: q4),
            .init(path: "Tiny-IQ2_XS.gguf", bytes: q8),
        ]], dropFirstDownloadAfter: 300)
        let store = registries.store()
        let model = try await store.install("hf:bartowski/Tiny-GGUF")
        #expect(model.name == "tiny-q4_k_m")
        #expect(model.sha256 == sha256(q4))
        #expect(try Data(contentsOf: URL(fileURLWithPath: model.path)) == Data(q4))
        #expect(try store.resolve("tiny-q4_k_m") == model)
        let downloads = registries.requests.filter { $0.path.hasPrefix("/cdn/") }
        #expect(downloads.map { $0.headers["range"] } == [nil, "bytes=300-"], "the second request resumes at the cut")
        #expect(registries.requests.first?.path == "/api/models/bartowski/Tiny-GGUF/tree/main?recursive=true")
    }

    @Test func huggingFaceFileByNameAndAmbiguousRepos() async throws {
        let a = try tinyGGUF(), b = try tinyGGUF(architecture: "gemma3")
        let registries = try FakeRegistries(hub: [
            "org/Two-GGUF": [.init(path: "two-f16.gguf", bytes: a), .init(path: "sub dir/two-Q8_0.gguf", bytes: b)],
        ])
        let store = registries.store()
        let named = try await store.install("hf:org/Two-GGUF/sub dir/two-Q8_0.gguf", as: "two")
        #expect(try Data(contentsOf: URL(fileURLWithPath: named.path)) == Data(b))
        let choice = ModelStoreError.chooseFile(repository: "org/Two-GGUF", choices: ["two-f16.gguf", "sub dir/two-Q8_0.gguf"])
        await #expect(throws: choice) { try await store.install("hf:org/Two-GGUF") }
        #expect(choice.description.contains("rdic model install hf:org/Two-GGUF/two-f16.gguf"))
        await #expect(throws: ModelStoreError.self) { try await store.install("hf:org/Missing-GGUF") }
        await #expect(throws: ModelStoreError.registry(reference: "hf:org/Two-GGUF/nope.gguf", reason: "org/Two-GGUF has no file nope.gguf")) {
            try await store.install("hf:org/Two-GGUF/nope.gguf")
        }
    }

    @Test func huggingFaceChecksumMismatchInstallsNothing() async throws {
        let bytes = try tinyGGUF()
        let announced = String(repeating: "ab", count: 32)
        let registries = try FakeRegistries(hub: ["org/Bad-GGUF": [.init(path: "bad-Q4_K_M.gguf", bytes: bytes, announced: announced)]])
        let store = registries.store()
        await #expect(throws: ModelStoreError.checksumMismatch(file: "bad-Q4_K_M.gguf", expected: announced, actual: sha256(bytes))) {
            try await store.install("hf:org/Bad-GGUF")
        }
        #expect(try store.installed().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.modelsDirectory.path).isEmpty)
    }

    @Test func ollamaManifestThenBlob() async throws {
        let blob = try tinyGGUF(architecture: "gemma3")
        let registries = try FakeRegistries(ollama: ["gemma3:tiny": ("sha256:" + sha256(blob), blob)], dropFirstDownloadAfter: 200)
        let store = registries.store()
        let model = try await store.install("ollama:gemma3:tiny")
        #expect(model.name == "gemma3-tiny")
        #expect(model.sha256 == sha256(blob))
        #expect(try Data(contentsOf: URL(fileURLWithPath: model.path)) == Data(blob))
        let manifest = try #require(registries.requests.first)
        #expect(manifest.path == "/v2/library/gemma3/manifests/tiny")
        #expect(registries.requests.filter { $0.path.hasPrefix("/storage/") }.map { $0.headers["range"] } == [nil, "bytes=200-"])
        await #expect(throws: ModelStoreError.self) { try await store.install("ollama:gemma3") }  // tag latest: unknown here
    }

    @Test func ollamaDigestMismatchInstallsNothing() async throws {
        let blob = try tinyGGUF()
        let digest = String(repeating: "cd", count: 32)
        let registries = try FakeRegistries(ollama: ["llama3.2:latest": ("sha256:" + digest, blob)])
        let store = registries.store()
        await #expect(throws: ModelStoreError.checksumMismatch(file: "llama3.2-latest.gguf", expected: digest, actual: sha256(blob))) {
            try await store.install("ollama:llama3.2")
        }
        #expect(try store.installed().isEmpty)
    }

    @Test func unreachableRegistryIsSaidPlainly() async throws {
        let closed = try LocalHTTPServer { _ in .init(status: 200, body: []) }
        let base = closed.baseURL
        closed.stop()
        let home = temporaryDirectory()
        let store = ModelStore(home: home, environment: ["HF_ENDPOINT": base, "RDIC_OLLAMA_REGISTRY": base, "HOME": home.path])
        let url = base + "/api/models/org/repo/tree/main?recursive=true"
        await #expect(throws: ModelStoreError.unreachable(url: url, reason: "connection refused")) {
            try await store.install("hf:org/repo")
        }
        await #expect(throws: ModelStoreError.unreachable(url: base + "/v2/library/gemma3/manifests/12b", reason: "connection refused")) {
            try await store.install("ollama:gemma3:12b")
        }
        let message = ModelStoreError.unreachable(url: url, reason: "connection refused").description
        #expect(!message.contains("\n") && message.contains("unreachable"))
    }
}

/// `rdic model install hf:...` / `ollama:...` end to end: the built binary, its progress and messages.
@Suite struct RegistryInstallCommandTests {
    @Test func installsWithProgressAndFailsInOneLineWhenUnreachable() throws {
        let bytes = try tinyGGUF(architecture: "gemma3")
        let registries = try FakeRegistries(hub: ["google/gemma-3-tiny-it-GGUF": [.init(path: "gemma-3-tiny-it-Q4_K_M.gguf", bytes: bytes)]],
                                            ollama: ["gemma3:tiny": ("sha256:" + sha256(bytes), bytes)])
        let home = temporaryDirectory()
        var env = ["RDIC_HOME": home.path, "HF_ENDPOINT": registries.baseURL, "RDIC_OLLAMA_REGISTRY": registries.baseURL,
                   "OLLAMA_MODELS": home.path + "/none", "HF_HUB_CACHE": home.path + "/none"]
        let hf = try RDICBinary.run(["model", "install", "hf:google/gemma-3-tiny-it-GGUF", "--name", "gemma-3-12b"], environment: env)
        #expect(hf.status == 0, "\(hf.stderr)")
        #expect(hf.stdout == "Installed gemma-3-12b at \(home.path)/models/gemma-3-tiny-it-Q4_K_M.gguf\n")
        #expect(hf.stderr.contains("Downloading gemma-3-tiny-it-Q4_K_M.gguf"))
        let ollama = try RDICBinary.run(["model", "install", "ollama:gemma3:tiny"], environment: env)
        #expect(ollama.status == 0, "\(ollama.stderr)")
        #expect(ollama.stdout == "Installed gemma3-tiny at \(home.path)/models/gemma3-tiny.gguf\n")
        #expect(try RDICBinary.run(["model", "list"], environment: env).stdout.contains("  gemma3-tiny "))

        let closed = try LocalHTTPServer { _ in .init(status: 200, body: []) }
        closed.stop()
        env["HF_ENDPOINT"] = closed.baseURL
        let offline = try RDICBinary.run(["model", "install", "hf:google/gemma-3-12b-it-GGUF"], environment: env)
        #expect(offline.status != 0)
        #expect(offline.stderr.split(separator: "\n").count == 1, "one line: \(offline.stderr)")
        #expect(offline.stderr.contains("cannot reach \(closed.baseURL)/api/models/google/gemma-3-12b-it-GGUF/tree/main"))
        #expect(offline.stderr.contains("connection refused"))
    }
}
