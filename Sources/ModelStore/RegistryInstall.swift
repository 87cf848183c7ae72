import AsyncHTTPClient
import Foundation
import NIOCore

/// Installs from the two registries users are pointed to: the Hugging Face Hub
/// (`hf:ORG/REPO[/FILE]`) and Ollama's (`ollama:NAME[:TAG]`). Each names its file's sha256, so
/// both go through the same resumable, checksummed download as a URL install.
extension ModelStore {
    /// The Hub's address; `HF_ENDPOINT` overrides it, as it does for huggingface_hub.
    var huggingFaceEndpoint: String { Self.baseURL(environment["HF_ENDPOINT"]) ?? "https://huggingface.co" }
    /// Ollama's registry; `RDIC_OLLAMA_REGISTRY` overrides it (a mirror, or a test server).
    var ollamaRegistry: String { Self.baseURL(environment["RDIC_OLLAMA_REGISTRY"]) ?? "https://registry.ollama.ai" }

    /// Lists the repository (tree API, which also gives each LFS file's sha256), picks the file,
    /// then downloads it from its `resolve` URL.
    func installFromHuggingFace(_ reference: String, as name: String?, sha256: String?,
                                progress: @escaping ProgressHandler) async throws -> InstalledModel {
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else {
            throw ModelStoreError.registry(reference: "hf:" + reference, reason: "expected hf:ORG/REPO or hf:ORG/REPO/FILE.gguf")
        }
        let repository = parts[0] + "/" + parts[1]
        let base = huggingFaceEndpoint
        let entries = try await fetchJSON([HubTreeEntry].self, from: "\(base)/api/models/\(repository)/tree/main?recursive=true",
                                          reference: "hf:" + reference)
        let files = entries.filter { $0.type == "file" }
        let file: HubTreeEntry
        if parts.count > 2 {
            let path = parts.dropFirst(2).joined(separator: "/")
            guard let match = files.first(where: { $0.path == path }) else {
                throw ModelStoreError.registry(reference: "hf:" + reference, reason: "\(repository) has no file \(path)")
            }
            file = match
        } else {
            let ggufs = files.filter { $0.path.lowercased().hasSuffix(".gguf") }
            let chosen = try Self.chooseGGUF(ggufs.map(\.path), repository: repository)
            file = ggufs.first { $0.path == chosen }!
        }
        let url = "\(base)/\(repository)/resolve/main/" + file.path.split(separator: "/").map { Self.pathEscaped(String($0)) }.joined(separator: "/")
        return try await installFromURL(URL(string: url)!, as: name, sha256: sha256 ?? file.lfs?.oid,
                                        fileName: URL(fileURLWithPath: file.path).lastPathComponent, progress: progress)
    }

    /// Reads the image manifest (Docker registry v2 API), then downloads the blob of its model
    /// layer; the blob's digest is its sha256.
    func installFromOllama(_ reference: String, as name: String?, sha256: String?,
                           progress: @escaping ProgressHandler) async throws -> InstalledModel {
        var model = reference, tag = "latest"
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            model = String(reference[..<colon])
            tag = String(reference[reference.index(after: colon)...])
        }
        guard !model.isEmpty, !tag.isEmpty else {
            throw ModelStoreError.registry(reference: "ollama:" + reference, reason: "expected ollama:NAME or ollama:NAME:TAG")
        }
        let repository = model.contains("/") ? model : "library/" + model
        let base = ollamaRegistry
        let manifest = try await fetchJSON(OllamaManifest.self, from: "\(base)/v2/\(repository)/manifests/\(tag)",
                                           accept: "application/vnd.docker.distribution.manifest.v2+json",
                                           reference: "ollama:" + reference)
        guard let layer = manifest.layers.first(where: { $0.mediaType == "application/vnd.ollama.image.model" }),
              layer.digest.hasPrefix("sha256:")
        else {
            throw ModelStoreError.registry(reference: "ollama:" + reference, reason: "its manifest has no sha256 model layer")
        }
        let fileName = model.replacingOccurrences(of: "/", with: "-") + "-" + tag + ".gguf"
        return try await installFromURL(URL(string: "\(base)/v2/\(repository)/blobs/\(layer.digest)")!, as: name,
                                        sha256: sha256 ?? String(layer.digest.dropFirst("sha256:".count)), fileName: fileName,
                                        progress: progress)
    }

    /// The only GGUF, else the only Q4_K_M one (case-insensitive), else the user must choose.
    static func chooseGGUF(_ paths: [String], repository: String) throws(ModelStoreError) -> String {
        if paths.count == 1 { return paths[0] }
        let preferred = paths.filter { $0.lowercased().contains(preferredQuantization) }
        if preferred.count == 1 { return preferred[0] }
        if paths.isEmpty { throw .registry(reference: "hf:" + repository, reason: "the repository holds no .gguf file") }
        throw .chooseFile(repository: repository, choices: paths)
    }

    /// GETs a registry's JSON answer; no answer at all is `unreachable`, anything but 200 is
    /// reported with the registry's own words.
    func fetchJSON<T: Decodable>(_ type: T.Type, from url: String, accept: String = "application/json",
                                 reference: String) async throws -> T {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: accept)
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.downloads.execute(request, timeout: .seconds(30))
        } catch {
            throw ModelStoreError.unreachable(url: url, reason: Self.connectionFailure(error))
        }
        let body = try await response.body.collect(upTo: 32 << 20)
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        guard response.status.code == 200 else {
            let detail = text.split(whereSeparator: \.isNewline).first.map { ": " + $0.prefix(200) } ?? ""
            let meaning = response.status.code == 404 || response.status.code == 401 ? " (not found, or private/gated)" : ""
            throw ModelStoreError.registry(reference: reference, reason: "\(url) answered HTTP \(response.status.code)\(meaning)\(detail)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw ModelStoreError.registry(reference: reference, reason: "\(url) did not answer as the registry API does: \(error)")
        }
    }

    /// A few words for why a connection failed, instead of a NIO error dump.
    static func connectionFailure(_ error: Error) -> String {
        let text = String(describing: error)
        let lower = text.lowercased()
        if lower.contains("refused") { return "connection refused" }
        if lower.contains("timeout") || lower.contains("timedout") || lower.contains("timed out") { return "timed out" }
        if lower.contains("dns") || lower.contains("resolve") || lower.contains("lookup") || lower.contains("name or service") {
            return "host name not found"
        }
        if lower.contains("unreachable") { return "no route to host" }
        return String(text.split(whereSeparator: \.isNewline).first?.prefix(120) ?? "connection failed")
    }

    static func baseURL(_ value: String?) -> String? {
        guard var value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

    static func pathEscaped(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? component
    }
}

/// One entry of the Hub's `GET /api/models/{repo}/tree/{revision}` answer.
struct HubTreeEntry: Decodable {
    struct LFS: Decodable {
        let oid: String
    }
    let type: String
    let path: String
    let lfs: LFS?
}
