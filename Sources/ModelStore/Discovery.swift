import Foundation

/// Finds GGUF models other tools already downloaded, so users need not download them twice:
/// Ollama's blob store and the Hugging Face hub cache. Nothing is copied; they are used in place.
extension ModelStore {
    public func discover() -> [InstalledModel] { discoverOllama() + discoverHuggingFace() }

    var ollamaModelsDirectory: URL {
        if let dir = environment["OLLAMA_MODELS"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: Self.userHome(environment)).appendingPathComponent(".ollama/models")
    }

    var huggingFaceHubDirectory: URL {
        if let dir = environment["HF_HUB_CACHE"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        if let home = environment["HF_HOME"], !home.isEmpty { return URL(fileURLWithPath: home).appendingPathComponent("hub") }
        return URL(fileURLWithPath: Self.userHome(environment)).appendingPathComponent(".cache/huggingface/hub")
    }

    /// Ollama keeps `manifests/<host>/<namespace>/<model>/<tag>` JSON files whose layer of media type
    /// `application/vnd.ollama.image.model` names a GGUF blob by digest.
    func discoverOllama() -> [InstalledModel] {
        let root = ollamaModelsDirectory
        let manifests = root.appendingPathComponent("manifests")
        guard let walker = FileManager.default.enumerator(at: manifests, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var found: [InstalledModel] = []
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let data = try? Data(contentsOf: url),
                  let manifest = try? JSONDecoder().decode(OllamaManifest.self, from: data),
                  let layer = manifest.layers.first(where: { $0.mediaType == "application/vnd.ollama.image.model" })
            else { continue }
            let blob = root.appendingPathComponent("blobs/" + layer.digest.replacingOccurrences(of: ":", with: "-"))
            guard Self.looksLikeGGUF(blob.path) else { continue }
            let parts = url.path.dropFirst(manifests.path.count + 1).split(separator: "/").map(String.init)
            guard parts.count >= 4 else { continue }
            let (host, namespace, model, tag) = (parts[0], parts[1], parts[2], parts[3])
            let short = host == "registry.ollama.ai" && namespace == "library" ? model : "\(host)/\(namespace)/\(model)"
            found.append(InstalledModel(name: "ollama:\(short):\(tag)", path: blob.path, source: "ollama",
                                        sha256: layer.digest.hasPrefix("sha256:") ? String(layer.digest.dropFirst(7)) : nil,
                                        bytes: Self.fileSize(blob.path)))
        }
        return found.sorted { $0.name < $1.name }
    }

    /// The hub cache keeps `models--<org>--<repo>/snapshots/<revision>/<file>`, files linking to blobs.
    func discoverHuggingFace() -> [InstalledModel] {
        let root = huggingFaceHubDirectory
        guard let repos = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return [] }
        var found: [String: InstalledModel] = [:]
        for repo in repos where repo.hasPrefix("models--") {
            let repoName = repo.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
            let snapshots = root.appendingPathComponent(repo).appendingPathComponent("snapshots")
            guard let walker = FileManager.default.enumerator(atPath: snapshots.path) else { continue }
            for case let relative as String in walker where relative.hasSuffix(".gguf") {
                let path = snapshots.appendingPathComponent(relative).path
                guard Self.looksLikeGGUF(path) else { continue }
                let file = relative.split(separator: "/").dropFirst().joined(separator: "/")
                let name = "hf:\(repoName)/\(file)"
                found[name] = InstalledModel(name: name, path: URL(fileURLWithPath: path).resolvingSymlinksInPath().path,
                                             source: "huggingface", sha256: nil, bytes: Self.fileSize(path))
            }
        }
        return found.values.sorted { $0.name < $1.name }
    }

    static func looksLikeGGUF(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 4)) == Data("GGUF".utf8)
    }
}

struct OllamaManifest: Decodable {
    struct Layer: Decodable {
        let mediaType: String
        let digest: String
    }
    let layers: [Layer]
}
