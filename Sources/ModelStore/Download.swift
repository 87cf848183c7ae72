import AsyncHTTPClient
import Foundation
import NIOCore

extension ModelStore {
    /// Downloads into `<models>/<file>.partial`, resuming from what a previous attempt left there
    /// (HTTP Range), retrying a dropped connection a few times, then verifies and renames.
    /// `fileName` names the file when the URL's last component does not (a registry blob).
    func installFromURL(_ url: URL, as name: String?, sha256: String?, fileName givenName: String? = nil,
                        progress: @escaping ProgressHandler, attempts: Int = 4) async throws -> InstalledModel {
        let fm = FileManager.default
        try fm.createDirectory(at: modelsDirectory, withIntermediateDirectories: true)
        var fileName = givenName ?? url.lastPathComponent
        if fileName.isEmpty || fileName == "/" { fileName = "model.gguf" }
        if !fileName.hasSuffix(".gguf") { fileName += ".gguf" }
        let destination = modelsDirectory.appendingPathComponent(fileName)
        let partial = destination.appendingPathExtension("partial")
        let modelName = name ?? String(fileName.dropLast(5)).lowercased()
        guard Self.isValidName(modelName) else { throw ModelStoreError.invalidName(modelName) }
        if let existing = try installed().first(where: { $0.name == modelName }), existing.path != destination.path {
            throw ModelStoreError.nameTaken(modelName, path: existing.path)
        }

        var lastError: Error = ModelStoreError.download(url: url.absoluteString, reason: "no attempt made")
        var complete = false
        for attempt in 0..<attempts where !complete {
            if attempt > 0 { try await Task.sleep(nanoseconds: UInt64(200_000_000 * attempt)) }
            do {
                try await downloadOnce(url, to: partial, label: fileName, progress: progress)
                complete = true
            } catch let error as ModelStoreError {
                if case .httpStatus(_, let status) = error, status < 500 { throw error }
                lastError = error
            } catch {
                lastError = ModelStoreError.download(url: url.absoluteString, reason: "\(error)")
            }
        }
        guard complete else { throw lastError }

        if let expected = sha256?.lowercased() {
            let actual = try Self.hashFile(partial.path, progress: progress)
            guard actual == expected else {
                try? fm.removeItem(at: partial)
                throw ModelStoreError.checksumMismatch(file: fileName, expected: expected, actual: actual)
            }
        }
        do { try Self.validate(path: partial.path) } catch {
            try? fm.removeItem(at: partial)
            throw error
        }
        _ = try? fm.removeItem(at: destination)
        try fm.moveItem(at: partial, to: destination)
        let model = InstalledModel(name: modelName, path: destination.path, source: url.absoluteString,
                                   sha256: sha256?.lowercased(), bytes: Self.fileSize(destination.path))
        try register(model)
        return model
    }

    private func downloadOnce(_ url: URL, to partial: URL, label: String, progress: @escaping ProgressHandler) async throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: partial.path) { fm.createFile(atPath: partial.path, contents: nil) }
        let already = Self.fileSize(partial.path)
        var request = HTTPClientRequest(url: url.absoluteString)
        if already > 0 { request.headers.add(name: "Range", value: "bytes=\(already)-") }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.downloads.execute(request, timeout: .seconds(60))
        } catch {
            throw ModelStoreError.unreachable(url: url.absoluteString, reason: Self.connectionFailure(error))
        }
        let handle = try FileHandle(forWritingTo: partial)
        defer { try? handle.close() }
        var start: Int64 = 0
        switch response.status.code {
        case 206:
            start = already
            try handle.seekToEnd()
        case 200:
            try handle.truncate(atOffset: 0)
        case 416 where already > 0:
            return // the previous attempt already has every byte
        default:
            throw ModelStoreError.httpStatus(url: url.absoluteString, status: Int(response.status.code))
        }
        let length = response.headers.first(name: "Content-Length").flatMap(Int64.init)
        var meter = ThrottledProgress(phase: "Downloading \(label)", total: length.map { $0 + start },
                                      start: start, handler: progress)
        var received: Int64 = 0
        for try await buffer in response.body {
            buffer.withUnsafeReadableBytes { handle.write(Data($0)) }
            received += Int64(buffer.readableBytes)
            meter.advance(by: buffer.readableBytes)
        }
        meter.finish()
        try handle.synchronize()
        if let length, received < length {
            throw ModelStoreError.download(url: url.absoluteString, reason: "connection closed after \(received) of \(length) bytes")
        }
    }
}
