import AsyncHTTPClient
import Foundation
import NIOCore
import TestSupport
import Testing

/// SIGTERM with a stream in flight: the stream ends cleanly, the caches are flushed to the
/// cache folder, and a restarted server serves every agent warm.
@Suite(.serialized, .computeBound) struct ShutdownTests {
    @Test func sigtermFinishesStreamsFlushesCachesAndRestartsWarm() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let arguments = ["--model", try TestModels.path(for: .smollm2), "--served-model-name", "smollm2-135m", "--ctx", "1024", "--api-key", "term-key",
                         "--cache-dir", folder.path]
        let first = try ServeProcess(arguments: arguments)
        let auth = [("Authorization", "Bearer term-key"), ("content-type", "application/json")]
        let history = [["role": "user", "content": "Describe a quiet harbor at dawn."]]

        func request(_ url: String, agent: String, stream: Bool, maxTokens: Int) throws -> HTTPClientRequest {
            var request = HTTPClientRequest(url: url + "/v1/chat/completions")
            request.method = .POST
            for (name, value) in auth { request.headers.add(name: name, value: value) }
            request.headers.add(name: "X-Agent-ID", value: agent)
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: ServerAPITests.chat(history, stream: stream, maxTokens: maxTokens))))
            return request
        }
        func cachedTokens(_ url: String, agent: String) async throws -> Int? {
            let response = try await loopbackHTTPClient.execute(try request(url, agent: agent, stream: false, maxTokens: 4), timeout: .seconds(120))
            let body = try await response.body.collect(upTo: 1 << 20)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            return ((json?["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int
        }

        #expect(try await cachedTokens(first.url, agent: "resting") == 0)
        // A long stream; SIGTERM arrives after its first chunk.
        let response = try await loopbackHTTPClient.execute(try request(first.url, agent: "streaming", stream: true, maxTokens: 48),
                                                              timeout: .seconds(120))
        var text = ""
        var signalled = false
        for try await buffer in response.body {
            text += String(buffer: buffer)
            if !signalled && text.contains("chat.completion.chunk") {
                signalled = true
                kill(first.process.processIdentifier, SIGTERM)
            }
        }
        #expect(signalled)
        #expect(text.hasSuffix("data: [DONE]\n\n"), "the in-flight stream ends cleanly: \(text.suffix(200))")
        #expect(text.contains("\"finish_reason\":\"length\"") || text.contains("\"finish_reason\":\"stop\""))
        #expect(first.terminate() == 0)

        let second = try ServeProcess(arguments: arguments)
        defer { _ = second.terminate() }
        for agent in ["resting", "streaming"] {
            let cached = try await cachedTokens(second.url, agent: agent)
            #expect((cached ?? 0) > 0, "\(agent) was not restored warm after the restart")
        }
    }
}
