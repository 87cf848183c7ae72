import Agents
import Foundation
import NIOHTTP1
import Server
import TestSupport
import Testing

/// Both APIs over real loopback HTTP, generating with the real SmolLM2 model.
@Suite(.serialized, .computeBound) struct ServerAPITests {
    static let keyA = "sk-test-tenant-a-0123456789"
    static let keyB = "sk-test-tenant-b-9876543210"

    static func chat(_ messages: [[String: String]], stream: Bool = false, maxTokens: Int = 8) -> [String: Any] {
        ["model": "smollm2-135m", "messages": messages, "max_tokens": maxTokens, "temperature": 0, "stream": stream,
         "stream_options": ["include_usage": true]]
    }

    static func anthropic(_ messages: [[String: String]], system: String? = nil, stream: Bool = false, maxTokens: Int = 8) -> [String: Any] {
        var body: [String: Any] = ["model": "smollm2-135m", "messages": messages, "max_tokens": maxTokens,
                                   "temperature": 0, "stream": stream]
        if let system { body["system"] = system }
        return body
    }

    @Test func openAIChatStreamsTheSameAnswerAndTheAgentsSecondTurnIsCached() async throws {
        let server = try await ServerHarness(keys: [Self.keyA])
        let auth = ["Authorization": "Bearer \(Self.keyA)"]
        let question = [["role": "system", "content": "You are a helpful assistant."], ["role": "user", "content": "What is the capital of France?"]]

        let plain = try await server.post("/v1/chat/completions", Self.chat(question), headers: auth.merging(["X-Agent-ID": "alice"]) { $1 })
        #expect(plain.status == 200)
        #expect(plain.json["object"] as? String == "chat.completion")
        let choice = try #require((plain.json["choices"] as? [[String: Any]])?.first)
        let answer = try #require((choice["message"] as? [String: Any])?["content"] as? String)
        #expect(!answer.isEmpty)
        let usage = try #require(plain.json["usage"] as? [String: Any])
        // Fewer than 8 tokens can only mean the model ended its turn (8 may be either: the
        // count includes an end-of-turn token).
        let finish = choice["finish_reason"] as? String
        #expect(finish == "stop" || (finish == "length" && usage["completion_tokens"] as? Int == 8))
        let promptTokens = try #require(usage["prompt_tokens"] as? Int)
        #expect(promptTokens > 10)
        #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)

        // The same question streamed by another agent: the same greedy text, chunk by chunk.
        let streamed = try await server.post("/v1/chat/completions", Self.chat(question, stream: true), headers: auth.merging(["X-Agent-ID": "bob"]) { $1 })
        #expect(streamed.status == 200)
        #expect(streamed.header("content-type")?.hasPrefix("text/event-stream") == true)
        #expect(streamed.events.last?.data == "[DONE]")
        let chunks = streamed.eventJSON
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        let first = try #require((chunks.first?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])
        #expect(first["role"] as? String == "assistant")
        let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.joined()
        #expect(text == answer)
        let usageChunk = try #require(chunks.last)
        #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
        #expect((usageChunk["usage"] as? [String: Any])?["prompt_tokens"] as? Int == promptTokens)

        // Alice's next turn continues her cache.
        let next = question + [["role": "assistant", "content": answer], ["role": "user", "content": "And of Italy?"]]
        let second = try await server.post("/v1/chat/completions", Self.chat(next), headers: auth.merging(["X-Agent-ID": "alice"]) { $1 })
        #expect(second.status == 200)
        let cached = ((second.json["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int
        #expect((cached ?? 0) >= promptTokens - 1)
        await server.stop()
    }

    @Test func anthropicMessagesFollowTheDocumentedEventSequenceAndReportCacheReads() async throws {
        let server = try await ServerHarness(keys: [Self.keyA])
        let auth = ["x-api-key": Self.keyA, "anthropic-version": "2023-06-01"]
        let turn = [["role": "user", "content": "Name a color."]]
        let plain = try await server.post("/v1/messages", Self.anthropic(turn, system: "Be brief."), headers: auth.merging(["X-Session-ID": "s1"]) { $1 })
        #expect(plain.status == 200)
        #expect(plain.json["type"] as? String == "message")
        #expect(plain.json["role"] as? String == "assistant")
        let block = try #require((plain.json["content"] as? [[String: Any]])?.first)
        #expect(block["type"] as? String == "text")
        let answer = try #require(block["text"] as? String)
        let usage = try #require(plain.json["usage"] as? [String: Any])
        #expect(usage["cache_read_input_tokens"] as? Int == 0)
        #expect(usage["cache_creation_input_tokens"] as? Int == 0)
        let input = try #require(usage["input_tokens"] as? Int)

        let streamed = try await server.post("/v1/messages", Self.anthropic(turn, system: "Be brief.", stream: true), headers: auth)
        let names = streamed.events.map { $0.event ?? "" }
        #expect(Array(names.prefix(3)) == ["message_start", "content_block_start", "ping"])
        #expect(Array(names.suffix(3)) == ["content_block_stop", "message_delta", "message_stop"])
        #expect(names.dropFirst(3).dropLast(3).allSatisfy { $0 == "content_block_delta" })
        for (event, json) in zip(streamed.events, streamed.eventJSON) { #expect(json["type"] as? String == event.event) }
        let text = streamed.eventJSON.compactMap { ($0["delta"] as? [String: Any])?["text"] as? String }.joined()
        #expect(text == answer)
        let delta = try #require(streamed.eventJSON.first { $0["type"] as? String == "message_delta" })
        let outputTokens = (delta["usage"] as? [String: Any])?["output_tokens"] as? Int
        let stopReason = (delta["delta"] as? [String: Any])?["stop_reason"] as? String
        #expect(stopReason == "end_turn" || (stopReason == "max_tokens" && outputTokens == 8))
        #expect(plain.json["stop_reason"] as? String == (delta["delta"] as? [String: Any])?["stop_reason"] as? String)

        let next = turn + [["role": "assistant", "content": answer], ["role": "user", "content": "Another one."]]
        let second = try await server.post("/v1/messages", Self.anthropic(next, system: "Be brief."), headers: auth.merging(["X-Session-ID": "s1"]) { $1 })
        let read = (second.json["usage"] as? [String: Any])?["cache_read_input_tokens"] as? Int
        #expect((read ?? 0) >= input - 1)

        let count = try await server.post("/v1/messages/count_tokens", ["model": "smollm2-135m", "system": "Be brief.", "messages": turn], headers: auth)
        #expect(count.status == 200)
        #expect(count.json["input_tokens"] as? Int == input)
        await server.stop()
    }

    @Test func errorsComeInEachAPIsShapeWithTheRightStatus() async throws {
        let server = try await ServerHarness(keys: [Self.keyA], contextLength: 256, maxBodyBytes: 64 << 10)
        let openAI = ["Authorization": "Bearer \(Self.keyA)"]
        let anthropicAuth = ["x-api-key": Self.keyA]
        func openAIError(_ reply: ServerHarness.Reply) -> (type: String?, message: String?) {
            let error = reply.json["error"] as? [String: Any]
            return (error?["type"] as? String, error?["message"] as? String)
        }
        func anthropicError(_ reply: ServerHarness.Reply) -> (type: String?, message: String?) {
            #expect(reply.json["type"] as? String == "error")
            let error = reply.json["error"] as? [String: Any]
            return (error?["type"] as? String, error?["message"] as? String)
        }
        let malformed = try await server.request(.POST, "/v1/chat/completions", body: "{not json", headers: openAI)
        #expect(malformed.status == 400)
        #expect(openAIError(malformed).type == "invalid_request_error")

        let noMax = try await server.post("/v1/messages", ["model": "smollm2-135m", "messages": [["role": "user", "content": "hi"]]], headers: anthropicAuth)
        #expect(noMax.status == 400)
        #expect(anthropicError(noMax) == ("invalid_request_error", "missing required field 'max_tokens'"))

        let unknown = try await server.post("/v1/chat/completions", ["model": "gpt-9", "messages": [["role": "user", "content": "hi"]]], headers: openAI)
        #expect(unknown.status == 404)
        #expect(openAIError(unknown).message?.contains("gpt-9") == true)

        let twoChoices = try await server.post("/v1/chat/completions", Self.chat([["role": "user", "content": "hi"]]).merging(["n": 2]) { $1 }, headers: openAI)
        #expect(twoChoices.status == 400)
        #expect(openAIError(twoChoices).message?.contains("n must be 1") == true)

        let long = String(repeating: "word ", count: 400)
        let tooLong = try await server.post("/v1/messages", Self.anthropic([["role": "user", "content": long]]), headers: anthropicAuth)
        #expect(tooLong.status == 400)
        let message = anthropicError(tooLong).message ?? ""
        #expect(message.contains("longer than the context of 256 tokens"))

        let huge = try await server.post("/v1/chat/completions", Self.chat([["role": "user", "content": String(repeating: "x", count: 70_000)]]), headers: openAI)
        #expect(huge.status == 413)
        #expect(openAIError(huge).type == "invalid_request_error")

        let badKey = try await server.post("/v1/messages", Self.anthropic([["role": "user", "content": "hi"]]), headers: ["x-api-key": "wrong"])
        #expect(badKey.status == 401)
        #expect(anthropicError(badKey).type == "authentication_error")
        let noKey = try await server.post("/v1/chat/completions", Self.chat([["role": "user", "content": "hi"]]))
        #expect(noKey.status == 401)
        #expect(openAIError(noKey).type == "authentication_error")
        await server.stop()
    }

    @Test func tenantsNeverSeeEachOthersAgentsOrCaches() async throws {
        let server = try await ServerHarness(keys: [Self.keyA, Self.keyB])
        let question = [["role": "user", "content": "Tell me about the sea."]]
        let a = ["Authorization": "Bearer \(Self.keyA)", "X-Agent-ID": "shared-name"]
        let b = ["x-api-key": Self.keyB, "X-Agent-ID": "shared-name"]
        _ = try await server.post("/v1/chat/completions", Self.chat(question), headers: a)
        let again = try await server.post("/v1/chat/completions", Self.chat(question), headers: a)
        let cachedA = ((again.json["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int
        #expect((cachedA ?? 0) > 0)
        let other = try await server.post("/v1/chat/completions", Self.chat(question), headers: b)
        #expect(other.status == 200)
        #expect(((other.json["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)

        let listA = try await server.request(.GET, "/v1/agents", headers: ["Authorization": "Bearer \(Self.keyA)"])
        let idsA = (listA.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(idsA == ["shared-name"])
        let removed = try await server.request(.DELETE, "/v1/agents/shared-name", headers: ["x-api-key": Self.keyB])
        #expect(removed.status == 200)
        let listB = try await server.request(.GET, "/v1/agents", headers: ["x-api-key": Self.keyB])
        #expect((listB.json["data"] as? [Any])?.isEmpty == true)
        let stillA = try await server.request(.GET, "/v1/agents", headers: ["Authorization": "Bearer \(Self.keyA)"])
        #expect((stillA.json["data"] as? [Any])?.count == 1)
        let missing = try await server.request(.DELETE, "/v1/agents/nobody", headers: ["x-api-key": Self.keyB])
        #expect(missing.status == 404)
        await server.stop()
    }

    @Test func aClientThatDisconnectsMidStreamFreesItsSlot() async throws {
        let server = try await ServerHarness()
        let body = Self.chat([["role": "user", "content": "Write a very long story about a dragon."]], stream: true, maxTokens: 400)
        let partial = try await server.postAndDisconnect("/v1/chat/completions", body, headers: ["X-Agent-ID": "leaver"])
        #expect(partial.contains("chat.completion.chunk"))
        #expect(!partial.contains("[DONE]"))
        // The runtime reports nothing running within a few token times.
        var idle = false
        for _ in 0..<100 where !idle {
            let metrics = server.runtime.metrics
            idle = metrics.running == 0 && metrics.queued == 0
            if !idle { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(idle)
        let next = try await server.post("/v1/chat/completions", Self.chat([["role": "user", "content": "hi"]]))
        #expect(next.status == 200)
        await server.stop()
    }

    @Test func healthAndPrometheusMetricsWithoutKeysOrAgentIds() async throws {
        let server = try await ServerHarness(keys: [Self.keyA])
        let health = try await server.request(.GET, "/health")
        #expect(health.status == 200)
        #expect(health.json["status"] as? String == "ok")
        _ = try await server.post("/v1/chat/completions", Self.chat([["role": "user", "content": "hi"]]),
                                  headers: ["Authorization": "Bearer \(Self.keyA)", "X-Agent-ID": "secret-agent-name"])
        _ = try await server.post("/v1/chat/completions", Self.chat([["role": "user", "content": "hi"]]), headers: ["Authorization": "Bearer nope"])
        let models = try await server.request(.GET, "/v1/models", headers: ["Authorization": "Bearer \(Self.keyA)"])
        #expect((models.json["data"] as? [[String: Any]])?.first?["id"] as? String == "smollm2-135m")
        let metrics = try await server.request(.GET, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("content-type")?.hasPrefix("text/plain") == true)
        let text = metrics.body
        #expect(text.contains(#"rdic_requests_total{endpoint="chat_completions",status="200"} 1"#))
        #expect(text.contains(#"rdic_requests_total{endpoint="chat_completions",status="401"} 1"#))
        #expect(text.contains("# TYPE rdic_time_to_first_token_seconds histogram"))
        let generated = text.split(separator: "\n").first { $0.hasPrefix("rdic_generated_tokens_total ") }
        #expect((generated?.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 0)
        for name in ["rdic_prompt_tokens_total", "rdic_cached_tokens_total", "rdic_queue_depth", "rdic_running_requests",
                     #"rdic_cache_bytes{tier="ram"}"#, "rdic_cache_evictions_total", "rdic_cache_restores_total",
                     "rdic_time_per_output_token_seconds_bucket"] {
            #expect(text.contains(name), "missing \(name)")
        }
        #expect(!text.contains("secret-agent-name"))
        #expect(!text.contains(Self.keyA))
        await server.stop()
    }

    @Test func overTheQueueIs429WithRetryAfterInEachShape() async throws {
        let server = try await ServerHarness(parallel: 1, queueLimit: 1)
        let replies = try await withThrowingTaskGroup(of: ServerHarness.Reply.self) { group in
            for index in 0..<4 {
                group.addTask {
                    index % 2 == 0
                        ? try await server.post("/v1/chat/completions", Self.chat([["role": "user", "content": "Write a long story."]], maxTokens: 48))
                        : try await server.post("/v1/messages", Self.anthropic([["role": "user", "content": "Write a long story."]], maxTokens: 48))
                }
            }
            var replies: [ServerHarness.Reply] = []
            for try await reply in group { replies.append(reply) }
            return replies
        }
        let busy = replies.filter { $0.status == 429 }
        #expect(!busy.isEmpty, "\(replies.map(\.status))")
        #expect(replies.allSatisfy { $0.status == 200 || $0.status == 429 }, "\(replies.map(\.status))")
        for reply in busy {
            #expect(reply.header("retry-after") == "1")
            let openAIType = (reply.json["error"] as? [String: Any])?["type"] as? String
            #expect(openAIType == "rate_limit_error")
        }
        await server.stop()
    }

    @Test func refusesToListenOnTheNetworkWithoutAKey() async throws {
        let engine = try ServerHarness.engine.get()
        let backend = try ServeBackend.make(engine: engine, contextLength: 256, kv: .f16, parallel: 1, ramBudget: nil, directory: nil)
        #expect(throws: ServerError.openOnNetwork(host: "0.0.0.0")) {
            try RDICServer(backend: backend, configuration: ServerConfiguration(modelName: "m", host: "0.0.0.0"))
        }
        _ = try RDICServer(backend: backend, configuration: ServerConfiguration(modelName: "m", host: "0.0.0.0", apiKeys: ["k"]))
        #expect(ByteCount.parse("2GiB") == 2 << 30)
        #expect(ByteCount.parse("512MiB") == 512 << 20)
        #expect(ByteCount.parse("1000") == 1000)
        #expect(ByteCount.parse("lots") == nil)
        await backend.shutdown()  // a runtime is shut down before it is released
    }
}
