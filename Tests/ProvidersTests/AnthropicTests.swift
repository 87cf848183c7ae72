import Foundation
import Testing
@testable import Providers

@Suite("Anthropic Messages API")
struct AnthropicTests {
    static let key = "sk-ant-api03-test-0123456789"

    @Test("request: x-api-key, anthropic-version, top-level system, content and sampling fields")
    func requestShape() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, BackendWire.anthropic.okBody))]])
        try await withServer(server) { server, transport in
            let provider = AnthropicProvider(transport: transport, apiKey: Self.key, baseURL: server.baseURL)
            let request = ChatRequest(model: "claude-sonnet-4-5", messages: [.system("Answer briefly."), .user("Hi"), .assistant("Hello"), .user("Bye")],
                                      system: "You are terse.", maxTokens: 300, temperature: 0.2, topP: 0.9,
                                      stopSequences: ["\n\nHuman:"], seed: 7)
            _ = try await provider.complete(request)
            let received = try #require(server.requests.first)
            #expect(received.path == "/v1/messages")
            #expect(received.header("x-api-key") == Self.key)
            #expect(received.header("anthropic-version") == "2023-06-01")
            #expect(received.header("authorization") == nil)
            let json = received.json
            #expect(json["system"] as? String == "You are terse.\n\nAnswer briefly.")
            let messages = try #require(json["messages"] as? [[String: Any]])
            #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"])
            #expect(messages.map { $0["content"] as? String } == ["Hi", "Hello", "Bye"])
            #expect(json["max_tokens"] as? Int == 300)
            #expect(json["temperature"] as? Double == 0.2)
            #expect(json["top_p"] as? Double == 0.9)
            #expect(json["stop_sequences"] as? [String] == ["\n\nHuman:"])
            #expect(json["seed"] == nil)  // Not an Anthropic parameter.
            #expect(json["stream"] == nil)
        }
    }

    @Test("a gateway base URL with a path prefix keeps it; the SDK convention has no /v1")
    func gatewayBaseURL() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, BackendWire.anthropic.okBody))]])
        try await withServer(server) { server, transport in
            let provider = AnthropicProvider(transport: transport, apiKey: Self.key, baseURL: server.baseURL + "/anthropic/")
            _ = try await provider.complete(ChatRequest(model: "claude-haiku-4-5", messages: [.user("Hi")]))
            #expect(server.requests.first?.path == "/anthropic/v1/messages")
        }
    }

    @Test("thinking blocks become the reasoning text; stop_sequence is reported")
    func thinkingAnswer() async throws {
        let body = #"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"The user wants a number.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},{"type":"text","text":"42"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":12,"output_tokens":30}}"#
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, body))]])
        try await withServer(server) { server, transport in
            let response = try await AnthropicProvider(transport: transport, apiKey: Self.key, baseURL: server.baseURL)
                .complete(ChatRequest(model: "claude-sonnet-4-5", messages: [.user("Number?")]))
            #expect(response.text == "42")
            #expect(response.reasoning == "The user wants a number.")
            #expect(response.stopReason == .stopSequence("END"))
            #expect(response.usage == TokenUsage(inputTokens: 12, outputTokens: 30))
            #expect(response.model == "claude-sonnet-4-5-20250929")
        }
    }

    @Test("streamed thinking_delta events come before the text; signature deltas are skipped")
    func thinkingStream() async throws {
        let pieces = [
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me work\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\" this out.\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrk\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"27 * 453 = 12231\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ]
        let server = try await FakeServer(script: [HTTPBytes.stream(pieces)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(AnthropicProvider(transport: transport, apiKey: Self.key, baseURL: server.baseURL)
                .stream(ChatRequest(model: "claude-sonnet-4-5", messages: [.user("27 * 453?")])))
            #expect(error == nil)
            #expect(events.prefix(3) == [.reasoning("Let me work"), .reasoning(" this out."), .text("27 * 453 = 12231")])
            let final = try #require(events.final)
            #expect(final.reasoning == "Let me work this out.")
            #expect(final.stopReason == .maxTokens)
            #expect(final.usage == TokenUsage(inputTokens: 30, outputTokens: 89))
            #expect(server.requests.first?.header("accept") == "text/event-stream")
        }
    }

    @Test("an error event after the 200 head is a typed error (overloaded -> 529)")
    func errorEventMidStream() async throws {
        let pieces = Array(BackendWire.anthropicStream.prefix(4)) + [
            "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
        ]
        let server = try await FakeServer(script: [HTTPBytes.stream(pieces)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(AnthropicProvider(transport: transport, apiKey: Self.key, baseURL: server.baseURL)
                .stream(ChatRequest(model: "claude-haiku-4-5", messages: [.user("Hi")])))
            #expect(events.text == "Hello")
            #expect(error as? ProviderError == .serverError(status: 529, message: "Overloaded"))
        }
    }

    @Test("CRLF framing and JSON split over several data: lines (as a re-framing proxy sends)")
    func multiLineDataAndCRLF() async throws {
        let pieces = [
            BackendWire.anthropicStream[0].replacingOccurrences(of: "\n", with: "\r\n"),
            "event: content_block_delta\r\ndata: {\"type\": \"content_block_delta\",\r\ndata:  \"index\": 0,\r\ndata: \"delta\": {\"type\": \"text_delta\", \"text\": \"multi\\nline\"}}\r\n\r\n",
            ": a comment line the client must ignore\r\n\r\n",
            BackendWire.anthropicStream[7], BackendWire.anthropicStream[8],
        ]
        let server = try await FakeServer(script: [HTTPBytes.stream(pieces)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(AnthropicProvider(transport: transport, apiKey: Self.key, baseURL: server.baseURL)
                .stream(ChatRequest(model: "claude-haiku-4-5", messages: [.user("Hi")])))
            #expect(error == nil)
            #expect(events.text == "multi\nline")
            #expect(events.final?.stopReason == .endTurn)
        }
    }

    @Test("529 overloaded is retried like a 5xx")
    func overloadedRetried() async throws {
        let overloaded = HTTPBytes.json(529, BackendWire.anthropic.errorBody("overloaded_error", "Overloaded"))
        let server = try await FakeServer(script: [[.send(overloaded)], [.send(HTTPBytes.json(200, BackendWire.anthropic.okBody))]])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            let response = try await AnthropicProvider(transport: transport, apiKey: Self.key, baseURL: server.baseURL)
                .complete(ChatRequest(model: "claude-haiku-4-5", messages: [.user("Hi")]))
            #expect(response.text == BackendWire.anthropic.okText)
            #expect(recorder.sleeps.current.count == 1)
        }
    }
}

@Suite("Opt-in reasoning requests")
struct ThinkingRequestTests {
    @Test("thinkingBudget becomes Anthropic's thinking block and Ollama's think flag")
    func thinkingFields() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, BackendWire.anthropic.okBody))],
                                                   [.send(HTTPBytes.json(200, BackendWire.ollama.okBody))]])
        try await withServer(server) { server, transport in
            let request = ChatRequest(model: "claude-sonnet-4-5", messages: [.user("Hi")], maxTokens: 4000, thinkingBudget: 2048)
            _ = try await AnthropicProvider(transport: transport, apiKey: "sk-ant-0123456789", baseURL: server.baseURL).complete(request)
            _ = try await OllamaProvider(transport: transport, host: server.baseURL).complete(request)
            let thinking = try #require(server.requests[0].json["thinking"] as? [String: Any])
            #expect(thinking["type"] as? String == "enabled")
            #expect(thinking["budget_tokens"] as? Int == 2048)
            #expect(server.requests[1].json["think"] as? Bool == true)
        }
    }
}
