import Foundation
import ModelStore
import TestSupport
import Testing

/// URL installs against a real HTTP server on 127.0.0.1 that honours Range requests and can
/// drop the connection mid-body.
@Suite struct DownloadTests {
    static func rangeServer(file: [UInt8], dropFirstAfter: Int?) throws -> LocalHTTPServer {
        let dropped = Counter()
        return try LocalHTTPServer { request in
            guard request.path == "/models/tiny.gguf" else { return .init(status: 404, body: Array("not found".utf8)) }
            var start = 0
            if let range = request.headers["range"], range.hasPrefix("bytes="), let s = Int(range.dropFirst(6).split(separator: "-")[0]) {
                start = s
            }
            let body = Array(file[start...])
            let headers: [(String, String)] = start > 0
                ? [("Content-Range", "bytes \(start)-\(file.count - 1)/\(file.count)")] : []
            let drop = dropped.increment() == 1 ? dropFirstAfter : nil
            return .init(status: start > 0 ? 206 : 200, headers: headers, body: body, dropAfter: drop)
        }
    }

    @Test func downloadsAndVerifies() async throws {
        let file = try tinyGGUF()
        let server = try Self.rangeServer(file: file, dropFirstAfter: nil)
        defer { server.stop() }
        let store = ModelStore(home: temporaryDirectory())
        let model = try await store.install(server.baseURL + "/models/tiny.gguf", sha256: sha256(file))
        #expect(model.name == "tiny")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model.path)) == Data(file))
        #expect(try store.resolve("tiny") == model)
    }

    @Test func resumesAfterDroppedConnection() async throws {
        let file = try tinyGGUF()
        let server = try Self.rangeServer(file: file, dropFirstAfter: 300)
        defer { server.stop() }
        let store = ModelStore(home: temporaryDirectory())
        let model = try await store.install(server.baseURL + "/models/tiny.gguf", sha256: sha256(file))
        #expect(try Data(contentsOf: URL(fileURLWithPath: model.path)) == Data(file))
        let ranges = server.requests.map { $0.headers["range"] }
        #expect(ranges.count == 2)
        #expect(ranges.last == "bytes=300-")
    }

    @Test func checksumMismatchLeavesNothingInstalled() async throws {
        let file = try tinyGGUF()
        let server = try Self.rangeServer(file: file, dropFirstAfter: nil)
        defer { server.stop() }
        let home = temporaryDirectory()
        let store = ModelStore(home: home)
        let wrong = String(repeating: "ab", count: 32)
        await #expect(throws: ModelStoreError.checksumMismatch(file: "tiny.gguf", expected: wrong, actual: sha256(file))) {
            try await store.install(server.baseURL + "/models/tiny.gguf", sha256: wrong)
        }
        #expect(try store.installed().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.modelsDirectory.path).isEmpty)
    }

    @Test func httpErrorsAreReported() async throws {
        let server = try Self.rangeServer(file: try tinyGGUF(), dropFirstAfter: nil)
        defer { server.stop() }
        let store = ModelStore(home: temporaryDirectory())
        await #expect(throws: ModelStoreError.httpStatus(url: server.baseURL + "/missing.gguf", status: 404)) {
            try await store.install(server.baseURL + "/missing.gguf")
        }
    }

    @Test func refusesDownloadsThatAreNotGGUF() async throws {
        let server = try LocalHTTPServer { _ in .init(status: 200, body: Array("<html>login page</html>".utf8)) }
        defer { server.stop() }
        let store = ModelStore(home: temporaryDirectory())
        await #expect(throws: ModelStoreError.self) { try await store.install(server.baseURL + "/model.gguf") }
        #expect(try store.installed().isEmpty)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}
