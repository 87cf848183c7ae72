import Agents
import AsyncHTTPClient
import Foundation
import Logging
import Server
import Testing

/// Every log line the server writes while serving keyed, agent-tagged traffic, in both APIs and
/// with errors, is free of API keys and agent ids.
@Suite(.serialized, .computeBound) struct LogPrivacyTests {
    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    struct CapturingHandler: LogHandler {
        let sink: Captured
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            sink.append("\(level) \(message) \(self.metadata.merging(extra ?? [:]) { $1 })")
        }
    }

    @Test func logsNeverCarryKeysOrAgentIds() async throws {
        let key = "sk-private-key-0123456789abcdef"
        let agent = "agent-name-that-must-stay-private"
        let sink = Captured()
        let logger = Logger(label: "rdic.serve.privacy") { _ in CapturingHandler(sink: sink) }
        let engine = try ServerHarness.engine.get()
        let runtime = try ServeBackend.make(engine: engine, contextLength: 512, kv: .f16, parallel: 2, ramBudget: nil, directory: nil)
        let server = try RDICServer(backend: runtime, configuration: ServerConfiguration(modelName: "smollm2-135m", port: 0, apiKeys: [key]),
                                    logger: logger)
        let (ready, continuation) = AsyncStream.makeStream(of: String.self)
        let task = Task { try await server.run { continuation.yield($0) } }
        var iterator = ready.makeAsyncIterator()
        let url = try #require(await iterator.next())
        let client = loopbackHTTPClient
        for (path, headers) in [("/v1/chat/completions", ["Authorization": "Bearer \(key)", "X-Agent-ID": agent]),
                                ("/v1/messages", ["x-api-key": key, "X-Session-ID": agent]),
                                ("/v1/chat/completions", ["Authorization": "Bearer \(key)x", "X-Agent-ID": agent])] {
            var request = HTTPClientRequestBuilder.make(url + path, headers: headers, body: path.hasSuffix("messages")
                ? ServerAPITests.anthropic([["role": "user", "content": "hi"]], maxTokens: 2)
                : ServerAPITests.chat([["role": "user", "content": "hi"]], maxTokens: 2))
            request.headers.add(name: "content-type", value: "application/json")
            _ = try await client.execute(request, timeout: .seconds(60)).body.collect(upTo: 1 << 20)
        }
        _ = try await client.execute(HTTPClientRequestBuilder.make(url + "/v1/agents/\(agent)", method: .DELETE,
                                                                   headers: ["x-api-key": key]), timeout: .seconds(60))
        await server.stop()
        _ = try? await task.value
        let lines = sink.all
        #expect(lines.contains { $0.contains("chat_completions") && $0.contains("200") })
        #expect(lines.contains { $0.contains("agents_delete") })
        for line in lines {
            #expect(!line.contains(key), "a key in the log: \(line)")
            #expect(!line.contains(agent), "an agent id in the log: \(line)")
        }
    }
}
