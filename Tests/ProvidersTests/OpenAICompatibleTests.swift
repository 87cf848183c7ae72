import Foundation
import Testing
@testable import Providers

@Suite("OpenAI-compatible and DeepSeek chat completions")
struct OpenAICompatibleTests {
    @Test("request: bearer key, system message first, stop, seed, max_tokens, include_usage when streaming")
    func requestShape() async throws {
        let server = try await FakeServer(script: [HTTPBytes.stream(BackendWire.openai.streamPieces)])
        try await withServer(server) { server, transport in
            let provider = OpenAICompatibleProvider(transport: transport, baseURL: server.baseURL + "/v1/", apiKey: "sk-proj-abcdef123456")
            let request = ChatRequest(model: "Qwen/Qwen2.5-7B-Instruct", messages: [.user("Hi")], system: "Be brief.",
                                      maxTokens: 50, temperature: 0.7, topP: 0.95, stopSequences: ["###"], seed: 1234)
            _ = try await provider.collect(request)
            let received = try #require(server.requests.first)
            #expect(received.path == "/v1/chat/completions")
            #expect(received.header("authorization") == "Bearer sk-proj-abcdef123456")
            let json = received.json
            let messages = try #require(json["messages"] as? [[String: String]])
            #expect(messages == [["role": "system", "content": "Be brief."], ["role": "user", "content": "Hi"]])
            #expect(json["max_tokens"] as? Int == 50)
            #expect(json["stop"] as? [String] == ["###"])
            #expect(json["seed"] as? Int == 1234)
            #expect(json["top_p"] as? Double == 0.95)
            #expect((json["stream_options"] as? [String: Bool]) == ["include_usage": true])
        }
    }

    @Test("no key (a local vLLM or llama.cpp server) sends no Authorization header")
    func noKey() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, BackendWire.openai.okBody))]])
        try await withServer(server) { server, transport in
            let response = try await OpenAICompatibleProvider(transport: transport, baseURL: server.baseURL + "/v1", apiKey: nil)
                .complete(ChatRequest(model: "local", messages: [.user("Hi")]))
            #expect(response.text == BackendWire.openai.okText)
            #expect(response.usage == TokenUsage(inputTokens: 19, outputTokens: 10, reasoningTokens: 0))
            #expect(server.requests.first?.header("authorization") == nil)
        }
    }

    @Test("deepseek-reasoner: reasoning_content, reasoning_tokens, leading keep-alive blank lines")
    func deepSeekReasoner() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, BackendWire.deepseek.okBody))]])
        try await withServer(server) { server, transport in
            let response = try await OpenAICompatibleProvider.deepSeek(transport: transport, apiKey: "sk-deepseek-0123456789", baseURL: server.baseURL)
                .complete(ChatRequest(model: "deepseek-reasoner", messages: [.user("9.11 and 9.8, which is greater?")]))
            #expect(response.text == "9.8 is greater.")
            #expect(response.reasoning == "Compare the tenths: 1 < 8.")
            #expect(response.usage == TokenUsage(inputTokens: 13, outputTokens: 120, reasoningTokens: 100))
            #expect(server.requests.first?.path == "/chat/completions")
        }
    }

    @Test("deepseek-reasoner streaming: reasoning deltas first, keep-alive comments ignored")
    func deepSeekReasonerStream() async throws {
        let server = try await FakeServer(script: [HTTPBytes.stream(BackendWire.deepSeekReasoningStream)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(OpenAICompatibleProvider.deepSeek(transport: transport, apiKey: "sk-deepseek-0123456789", baseURL: server.baseURL)
                .stream(ChatRequest(model: "deepseek-reasoner", messages: [.user("9.11 and 9.8?")])))
            #expect(error == nil)
            #expect(events.prefix(4) == [.reasoning("9.11 < 9.8"), .reasoning(" since 0.11 < 0.8."), .text("9.8"), .text(" is greater.")])
            let final = try #require(events.final)
            #expect(final.reasoning == "9.11 < 9.8 since 0.11 < 0.8.")
            #expect(final.usage?.reasoningTokens == 30)
        }
    }

    @Test("deepseek-chat returns no reasoning, streamed or not")
    func deepSeekChat() async throws {
        let body = #"{"id":"930c60df","object":"chat.completion","created":1737000000,"model":"deepseek-chat","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}"#
        let pieces = [
            BackendWire.deepSeekChunk(#"{"role":"assistant","content":""}"#),
            BackendWire.deepSeekChunk(#"{"content":"Hello!"}"#),
            BackendWire.deepSeekChunk(#"{"content":""}"#, finish: #""length""#, usage: #","usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}"#),
            "data: [DONE]\n\n",
        ]
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, body))], HTTPBytes.stream(pieces)])
        try await withServer(server) { server, transport in
            let provider = OpenAICompatibleProvider.deepSeek(transport: transport, apiKey: "sk-deepseek-0123456789", baseURL: server.baseURL)
            let request = ChatRequest(model: "deepseek-chat", messages: [.user("Hi")])
            let complete = try await provider.complete(request)
            #expect(complete.text == "Hello!")
            #expect(complete.reasoning == nil)
            let (events, error) = await drain(provider.stream(request))
            #expect(error == nil)
            #expect(events.reasoning.isEmpty)
            #expect(events.final?.reasoning == nil)
            #expect(events.final?.stopReason == .maxTokens)
        }
    }

    @Test("vLLM's `reasoning` field, multi-line data, and a clean close after finish_reason without [DONE]")
    func vllmStyle() async throws {
        let pieces = [
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen3\",\ndata: \"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"hmm\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen3\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"qwen3\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        ]
        let server = try await FakeServer(script: [HTTPBytes.stream(pieces)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(OpenAICompatibleProvider(transport: transport, baseURL: server.baseURL + "/v1", apiKey: nil)
                .stream(ChatRequest(model: "qwen3", messages: [.user("Hi")])))
            #expect(error == nil)
            #expect(events.prefix(2) == [.reasoning("hmm"), .text("ok")])
            #expect(events.final?.model == "qwen3")
            #expect(events.final?.usage == nil)
        }
    }

    @Test("an error object inside the stream is a typed error")
    func errorInStream() async throws {
        let pieces = [BackendWire.openAIChunk(#"{"content":"Hel"}"#),
                      #"data: {"error":{"message":"The server had an error while processing your request.","type":"server_error"}}"# + "\n\n"]
        let server = try await FakeServer(script: [HTTPBytes.stream(pieces)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(OpenAICompatibleProvider(transport: transport, baseURL: server.baseURL + "/v1", apiKey: "sk-abcdefgh")
                .stream(ChatRequest(model: "gpt-4o-mini", messages: [.user("Hi")])))
            #expect(events.text == "Hel")
            #expect(error as? ProviderError == .serverError(status: 200, message: "The server had an error while processing your request."))
        }
    }

    @Test("retry-after-ms (OpenAI's header) is honoured")
    func retryAfterMilliseconds() async throws {
        let limited = HTTPBytes.json(429, BackendWire.openai.errorBody("requests", "Rate limit reached"), headers: [("retry-after-ms", "250")])
        let server = try await FakeServer(script: [[.send(limited)], [.send(HTTPBytes.json(200, BackendWire.openai.okBody))]])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            _ = try await OpenAICompatibleProvider(transport: transport, baseURL: server.baseURL + "/v1", apiKey: "sk-abcdefgh")
                .complete(ChatRequest(model: "gpt-4o-mini", messages: [.user("Hi")]))
            #expect(recorder.sleeps.current == [.milliseconds(250)])
        }
    }
}
