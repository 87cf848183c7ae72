import Agents
import AsyncHTTPClient
import Engine
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Server
import TestSupport

/// A live `RDICServer` on a free loopback port, and an HTTP client to talk to it.
final class ServerHarness: LoopbackServer {
    let url: String
    let server: RDICServer
    let runtime: AgentRuntime
    private let task: Task<Void, Error>

    /// One model load for the whole suite.
    static let engine: Result<Engine, Error> = Result { try Engine(path: TestModels.path(for: .smollm2), contextLength: 1024) }

    init(keys: [String] = [], contextLength: Int = 1024, maxBodyBytes: Int = 1 << 20, parallel: Int = 4,
         queueLimit: Int = 64) async throws {
        let engine = try Self.engine.get()
        let backend = try ServeBackend.make(engine: engine, contextLength: contextLength, kv: .f16,
                                            parallel: parallel, ramBudget: nil, directory: nil, queueLimit: queueLimit)
        runtime = backend
        var configuration = ServerConfiguration(modelName: "smollm2-135m", host: "127.0.0.1", port: 0, apiKeys: keys)
        configuration.maxBodyBytes = maxBodyBytes
        var logger = Logger(label: "rdic.serve.test")
        logger.logLevel = .warning
        let server = try RDICServer(backend: backend, configuration: configuration, logger: logger)
        let (ready, continuation) = AsyncStream.makeStream(of: String.self)
        task = Task { try await server.run { url in continuation.yield(url) } }
        var iterator = ready.makeAsyncIterator()
        guard let url = await iterator.next() else { throw HarnessError.notReady }
        self.url = url
        self.server = server
    }

    enum HarnessError: Error { case notReady }

    /// A graceful stop, as SIGTERM: in-flight requests finish, then `run` returns.
    func stop() async {
        await server.stop()
        _ = try? await task.value
    }

    typealias Reply = LoopbackReply
}

enum HTTPClientRequestBuilder {
    static func make(_ url: String, method: HTTPMethod = .POST, headers: [String: String], body: [String: Any]? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body, let data = try? JSONSerialization.data(withJSONObject: body) { request.body = .bytes(ByteBuffer(data: data)) }
        return request
    }
}

/// A whole HTTP response as read by the test client.
struct LoopbackReply {
    var status: Int
    var headers: [(String, String)]
    var body: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

    /// SSE frames as (event, data) pairs.
    var events: [(event: String?, data: String)] {
        body.components(separatedBy: "\n\n").compactMap { frame in
            var event: String?
            var data: [String] = []
            for line in frame.split(separator: "\n") {
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            return data.isEmpty ? nil : (event, data.joined(separator: "\n"))
        }
    }

    var eventJSON: [[String: Any]] {
        events.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.data.utf8))) as? [String: Any] }
    }
}


/// The one HTTP client of the server tests.
let loopbackHTTPClient = HTTPClient(eventLoopGroupProvider: .singleton)

/// A server under test on loopback (in-process or a child process), with request helpers.
protocol LoopbackServer: Sendable {
    var url: String { get }
}

extension LoopbackServer {
    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> LoopbackReply {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await loopbackHTTPClient.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return LoopbackReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                     body: String(buffer: bytes))
    }

    func post(_ path: String, _ json: [String: Any], headers: [String: String] = [:]) async throws -> LoopbackReply {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await request(.POST, path, body: String(decoding: data, as: UTF8.self), headers: headers)
    }

    /// Reads a streamed response until its first tokens arrived, then drops the connection.
    func postAndDisconnect(_ path: String, _ json: [String: Any], headers: [String: String] = [:]) async throws -> String {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: json)))
        let prepared = request
        // The read runs in a child task that is cancelled after the first tokens: that aborts
        // the connection, as a client that goes away does.
        let received = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                let response = try await loopbackHTTPClient.execute(prepared, timeout: .seconds(120))
                var text = ""
                for try await buffer in response.body {
                    text += String(buffer: buffer)
                    if text.contains("content_block_delta") || text.contains("\"content\":\"") && text.components(separatedBy: "data:").count > 3 {
                        return text
                    }
                }
                return text
            }
            let text = try await group.next() ?? ""
            group.cancelAll()
            return text
        }
        return received
    }
}
