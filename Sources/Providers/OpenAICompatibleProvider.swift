import APIWire
import AsyncHTTPClient
import Foundation
import NIOCore

/// OpenAI-style chat completions (`POST {base}/chat/completions`), spoken by OpenAI, DeepSeek,
/// vLLM, SGLang, llama.cpp's server, Ollama's `/v1`, LM Studio and most gateways.
///
/// Wire facts this relies on: `Authorization: Bearer` (omitted when no key, for local servers),
/// the system prompt as a leading `system` message, `stop` / `seed` / `max_tokens` fields,
/// `stream_options.include_usage` to get usage in a final chunk (whose `choices` is empty),
/// SSE chunks with `choices[0].delta`, the `data: [DONE]` sentinel, and DeepSeek's
/// `reasoning_content` (also read as `reasoning`, the name vLLM and some gateways use).
/// The base URL includes the version segment (`https://api.openai.com/v1`), as `OPENAI_BASE_URL`
/// does for OpenAI's SDKs; DeepSeek documents `https://api.deepseek.com` (with or without `/v1`).
public struct OpenAICompatibleProvider: ChatProvider {
    public static let openAIBaseURL = "https://api.openai.com/v1"
    public static let deepSeekBaseURL = "https://api.deepseek.com"

    public let backend: BackendKind
    let transport: HTTPTransport
    let baseURL: String
    let apiKey: String?
    let redactor: Redactor

    public init(transport: HTTPTransport, baseURL: String, apiKey: String?, backend: BackendKind = .openai) {
        self.transport = transport
        self.baseURL = baseURL
        self.apiKey = apiKey?.isEmpty == true ? nil : apiKey
        self.backend = backend
        self.redactor = Redactor(secrets: [apiKey].compactMap { $0 })
    }

    /// DeepSeek's API: same protocol, its own base URL and key.
    public static func deepSeek(transport: HTTPTransport, apiKey: String,
                                baseURL: String = OpenAICompatibleProvider.deepSeekBaseURL) -> OpenAICompatibleProvider {
        OpenAICompatibleProvider(transport: transport, baseURL: baseURL, apiKey: apiKey, backend: .deepseek)
    }

    // MARK: Wire format (the shared types of module APIWire)

    typealias Completion = OpenAIChatCompletion

    static func tokenUsage(_ usage: OpenAIUsage) -> TokenUsage {
        TokenUsage(inputTokens: usage.promptTokens ?? 0, outputTokens: usage.completionTokens ?? 0,
                   reasoningTokens: usage.completionTokensDetails?.reasoningTokens)
    }

    func call(_ request: ChatRequest, stream: Bool) throws -> HTTPCall {
        var messages = request.messages.filter { $0.role != .system }.map(OpenAIChatMessage.init)
        if let system = request.combinedSystem { messages.insert(OpenAIChatMessage(role: .system, content: system), at: 0) }
        let body = OpenAIChatRequest(model: request.model, messages: messages, maxTokens: request.maxTokens,
                                     temperature: request.temperature, topP: request.topP, seed: request.seed,
                                     stop: request.stopSequences.isEmpty ? nil : .many(request.stopSequences),
                                     stream: stream ? true : nil,
                                     streamOptions: stream ? OpenAIStreamOptions(includeUsage: true) : nil)
        var headers = [("content-type", "application/json"), ("accept", stream ? "text/event-stream" : "application/json"),
                       ("user-agent", Wire.userAgent)]
        if let apiKey { headers.append(("authorization", "Bearer \(apiKey)")) }
        return HTTPCall(url: Wire.join(baseURL, "/chat/completions"), headers: headers, body: try Wire.encodeAPI(body))
    }

    static func errorMessage(_ bytes: [UInt8]) -> String? { GenericErrorBody.message(from: bytes) }

    static func stopReason(_ raw: String?) -> StopReason? {
        switch raw {
        case nil: return nil
        case "stop": return .endTurn
        case "length": return .maxTokens
        case "content_filter": return .contentFilter
        case "tool_calls", "function_call": return .toolUse
        case let other?: return .other(other)
        }
    }

    // MARK: ChatProvider

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let call = try call(request, stream: false)
        let start = ContinuousClock.now
        return try await transport.perform(call, redactor: redactor, errorMessage: Self.errorMessage) { response in
            // DeepSeek may send blank lines as keep-alives before the JSON; JSON allows the whitespace.
            let completion = try Wire.decodeAPI(Completion.self, from: try await Wire.collect(response), what: "chat completion")
            if let error = completion.error {
                throw ProviderError.serverError(status: 200, message: error.message ?? "error in a 200 response")
            }
            guard let choice = completion.choices?.first, let message = choice.message else {
                throw ProviderError.malformedResponse("chat completion has no choices[0].message")
            }
            let reasoning = message.reasoningText
            return ChatResponse(
                model: completion.model ?? request.model, text: message.content ?? "",
                reasoning: reasoning?.isEmpty == false ? reasoning : nil,
                stopReason: Self.stopReason(choice.finishReason), usage: completion.usage.map(Self.tokenUsage),
                latency: ContinuousClock.now - start)
        }
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error> {
        let provider = self
        return Wire.makeStream { continuation in
            let call = try provider.call(request, stream: true)
            let start = ContinuousClock.now
            return try await provider.transport.perform(call, redactor: provider.redactor, errorMessage: Self.errorMessage) { response in
                var parser = SSEParser()
                var assembler = ResponseAssembler(model: request.model)
                var sawDone = false
                /// Applies one chunk; true at the `[DONE]` sentinel.
                func handle(_ event: SSEEvent) throws -> Bool {
                    if event.data.trimmingCharacters(in: .whitespaces) == "[DONE]" { return true }
                    let chunk = try Wire.decodeAPI(Completion.self, from: event.data, what: "chat completion chunk")
                    if let error = chunk.error {
                        throw ProviderError.serverError(status: 200, message: error.message ?? "error event in stream")
                    }
                    if let model = chunk.model { assembler.model = model }
                    if let usage = chunk.usage { assembler.usage = Self.tokenUsage(usage) }
                    guard let choice = chunk.choices?.first else { return false }
                    if let reasoning = choice.delta?.reasoningText, let delta = assembler.addReasoning(reasoning) {
                        continuation.yield(delta)
                    }
                    if let text = choice.delta?.content, let delta = assembler.addText(text) { continuation.yield(delta) }
                    if let reason = choice.finishReason { assembler.stopReason = Self.stopReason(reason) }
                    return false
                }
                reading: for try await buffer in response.body {
                    for event in parser.feed(buffer.readableBytesView) where try handle(event) {
                        sawDone = true
                        break reading
                    }
                }
                if !sawDone, let event = parser.finish() {
                    sawDone = (try? handle(event)) ?? false
                }
                // A server that closes cleanly after the finish_reason chunk without `[DONE]` is
                // tolerated; a stream cut before any finish_reason is a dropped connection.
                guard sawDone || (assembler.stopReason != nil && !parser.hasPartialEvent) else {
                    throw ProviderError.network("connection dropped mid-stream (no [DONE] or finish_reason)")
                }
                return assembler.response(latency: ContinuousClock.now - start)
            }
        }
    }
}
