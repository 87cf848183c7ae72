import Foundation
import Testing
@testable import Providers

@Suite("Ollama native chat API")
struct OllamaTests {
    @Test("request: options block, system message first, stream flag, no key header without a key")
    func requestShape() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, BackendWire.ollama.okBody))]])
        try await withServer(server) { server, transport in
            let provider = OllamaProvider(transport: transport, host: server.baseURL)
            let response = try await provider.complete(ChatRequest(model: "gemma3:12b", messages: [.user("Hi")], system: "Be kind.",
                                                                   maxTokens: 40, temperature: 0.1, topP: 0.8, stopSequences: ["<end>"], seed: 42))
            #expect(response.usage == TokenUsage(inputTokens: 26, outputTokens: 7))
            let received = try #require(server.requests.first)
            #expect(received.path == "/api/chat")
            #expect(received.header("authorization") == nil)
            let json = received.json
            #expect(json["stream"] as? Bool == false)
            let options = try #require(json["options"] as? [String: Any])
            #expect(options["num_predict"] as? Int == 40)
            #expect(options["temperature"] as? Double == 0.1)
            #expect(options["top_p"] as? Double == 0.8)
            #expect(options["stop"] as? [String] == ["<end>"])
            #expect(options["seed"] as? Int == 42)
            let messages = try #require(json["messages"] as? [[String: String]])
            #expect(messages.first == ["role": "system", "content": "Be kind."])
        }
    }

    @Test("thinking models: message.thinking is the reasoning, streamed and not")
    func thinking() async throws {
        let body = #"{"model":"qwen3","created_at":"2025-10-26T17:15:24Z","message":{"role":"assistant","content":"4","thinking":"2+2 is 4."},"done":true,"done_reason":"stop","prompt_eval_count":10,"eval_count":12}"#
        let lines = [BackendWire.ollamaLine("", thinking: "2+2"), BackendWire.ollamaLine("", thinking: " is 4."),
                     BackendWire.ollamaLine("4"), BackendWire.ollamaLine("", done: true)]
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, body))], HTTPBytes.stream(lines, contentType: "application/x-ndjson")])
        try await withServer(server) { server, transport in
            let provider = OllamaProvider(transport: transport, host: server.baseURL)
            let request = ChatRequest(model: "qwen3", messages: [.user("2+2?")])
            let response = try await provider.complete(request)
            #expect(response.reasoning == "2+2 is 4.")
            #expect(response.text == "4")
            let (events, error) = await drain(provider.stream(request))
            #expect(error == nil)
            #expect(events.prefix(3) == [.reasoning("2+2"), .reasoning(" is 4."), .text("4")])
        }
    }

    @Test("404 model not found is a bad request with Ollama's message")
    func modelNotFound() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(404, #"{"error":"model 'gemma3:12b' not found"}"#))]])
        try await withServer(server) { server, transport in
            await #expect(throws: ProviderError.badRequest(status: 404, message: "model 'gemma3:12b' not found")) {
                try await OllamaProvider(transport: transport, host: server.baseURL).complete(ChatRequest(model: "gemma3:12b", messages: [.user("Hi")]))
            }
        }
    }

    @Test("an error line mid-stream is a typed error")
    func errorLine() async throws {
        let lines = [BackendWire.ollamaLine("Hel"), #"{"error":"an error was encountered while running the model: unexpected EOF"}"# + "\n"]
        let server = try await FakeServer(script: [HTTPBytes.stream(lines, contentType: "application/x-ndjson")])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(OllamaProvider(transport: transport, host: server.baseURL)
                .stream(ChatRequest(model: "gemma3:12b", messages: [.user("Hi")])))
            #expect(events.text == "Hel")
            #expect(error as? ProviderError == .serverError(status: 200, message: "an error was encountered while running the model: unexpected EOF"))
        }
    }

    @Test("OLLAMA_HOST is read the way Ollama's client reads it")
    func hostNormalisation() {
        #expect(OllamaProvider.normalizeHost("") == "http://127.0.0.1:11434")
        #expect(OllamaProvider.normalizeHost("0.0.0.0") == "http://0.0.0.0:11434")
        #expect(OllamaProvider.normalizeHost("gpu-box:8080") == "http://gpu-box:8080")
        #expect(OllamaProvider.normalizeHost("http://gpu-box") == "http://gpu-box:80")
        #expect(OllamaProvider.normalizeHost("https://ollama.example.com") == "https://ollama.example.com:443")
        #expect(OllamaProvider.normalizeHost("https://example.com/ollama/") == "https://example.com:443/ollama/")
        #expect(OllamaProvider.normalizeHost("http://127.0.0.1:11434") == "http://127.0.0.1:11434")
    }
}
