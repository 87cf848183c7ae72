import APIWire
import AsyncHTTPClient
import Foundation
import NIOCore

/// Anthropic Messages API (`POST {base}/v1/messages`).
///
/// Wire facts this relies on: the key goes in `x-api-key` (not `Authorization`), every request
/// carries `anthropic-version`, the system prompt is a top-level `system` field (there is no
/// system role), answers are arrays of typed content blocks (`text`, `thinking`), and streams
/// are SSE with named events: `message_start`, `content_block_start`, `content_block_delta`
/// (`text_delta` / `thinking_delta` / `signature_delta`), `content_block_stop`, `message_delta`
/// (stop reason, cumulative output tokens), `message_stop`, `ping`, and `error`.
/// The base URL is the API root without `/v1`, like `ANTHROPIC_BASE_URL` in Anthropic's SDKs.
public struct AnthropicProvider: ChatProvider {
    public static let defaultBaseURL = "https://api.anthropic.com"
    public static let apiVersion = "2023-06-01"

    public var backend: BackendKind { .anthropic }
    let transport: HTTPTransport
    let baseURL: String
    let apiKey: String
    let version: String
    let redactor: Redactor

    public init(transport: HTTPTransport, apiKey: String, baseURL: String = AnthropicProvider.defaultBaseURL,
                version: String = AnthropicProvider.apiVersion) {
        self.transport = transport
        self.apiKey = apiKey
        self.baseURL = baseURL
        self.version = version
        self.redactor = Redactor(secrets: [apiKey])
    }

    // MARK: Wire format (the shared types of module APIWire)

    typealias Message = AnthropicMessagesResponse
    typealias StreamEvent = AnthropicStreamEvent

    func call(_ request: ChatRequest, stream: Bool) throws -> HTTPCall {
        let body = AnthropicMessagesRequest(
            model: request.model, maxTokens: request.maxTokens, system: request.combinedSystem,
            messages: request.messages.filter { $0.role != .system }.map { AnthropicMessage(role: $0.role, content: $0.content) },
            temperature: request.temperature, topP: request.topP,
            stopSequences: request.stopSequences.isEmpty ? nil : request.stopSequences,
            stream: stream ? true : nil, thinking: request.thinkingBudget.map { AnthropicThinking(budgetTokens: $0) })
        return HTTPCall(url: Wire.join(baseURL, "/v1/messages"), headers: [
            ("x-api-key", apiKey), ("anthropic-version", version), ("content-type", "application/json"),
            ("accept", stream ? "text/event-stream" : "application/json"), ("user-agent", Wire.userAgent),
        ], body: try Wire.encodeAPI(body))
    }

    static func errorMessage(_ bytes: [UInt8]) -> String? {
        (try? WireCoding.decode(AnthropicErrorBody.self, from: Data(bytes)))?.error?.message ?? GenericErrorBody.message(from: bytes)
    }

    static func stopReason(_ raw: String?, sequence: String?) -> StopReason? {
        switch raw {
        case nil: return nil
        case "end_turn": return .endTurn
        case "max_tokens": return .maxTokens
        case "stop_sequence": return .stopSequence(sequence)
        case "tool_use": return .toolUse
        case "refusal": return .contentFilter
        case let other?: return .other(other)
        }
    }

    /// Maps an in-stream `error` event (sent after a 200 head) to the error its HTTP status
    /// would have produced.
    static func streamError(_ inner: AnthropicErrorInfo?) -> ProviderError {
        let message = inner?.message ?? "error event without a message"
        switch inner?.type {
        case "authentication_error", "permission_error": return .authentication(status: 401, message: message)
        case "rate_limit_error": return .rateLimited(message: message, retryAfter: nil)
        case "invalid_request_error", "not_found_error", "request_too_large":
            return .badRequest(status: 400, message: message)
        case "overloaded_error": return .serverError(status: 529, message: message)
        default: return .serverError(status: 500, message: message)
        }
    }

    // MARK: ChatProvider

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let call = try call(request, stream: false)
        let start = ContinuousClock.now
        return try await transport.perform(call, redactor: redactor, errorMessage: Self.errorMessage) { response in
            let message = try Wire.decodeAPI(Message.self, from: try await Wire.collect(response), what: "Anthropic message")
            guard let blocks = message.content else {
                throw ProviderError.malformedResponse("Anthropic message has no content array")
            }
            let thinking = blocks.filter { $0.type == "thinking" }.compactMap(\.thinking)
            return ChatResponse(
                model: message.model ?? request.model,
                text: blocks.filter { $0.type == "text" }.compactMap(\.text).joined(),
                reasoning: thinking.isEmpty ? nil : thinking.joined(separator: "\n\n"),
                stopReason: Self.stopReason(message.stopReason, sequence: message.stopSequence),
                usage: message.usage.map { TokenUsage(inputTokens: $0.inputTokens ?? 0, outputTokens: $0.outputTokens ?? 0) },
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
                var finished = false
                /// Applies one event; true once `message_stop` arrived.
                func handle(_ event: SSEEvent) throws -> Bool {
                    let data = try Wire.decodeAPI(StreamEvent.self, from: event.data, what: "Anthropic \(event.event) event")
                    switch data.type {
                    case "message_start":
                        if let model = data.message?.model { assembler.model = model }
                        if let usage = data.message?.usage {
                            assembler.usage = TokenUsage(inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0)
                        }
                    case "content_block_start":
                        // A block may start with text already in it.
                        if let text = data.contentBlock?.text, let delta = assembler.addText(text) { continuation.yield(delta) }
                        if let thinking = data.contentBlock?.thinking, let delta = assembler.addReasoning(thinking) {
                            continuation.yield(delta)
                        }
                    case "content_block_delta":
                        switch data.delta?.type {
                        case "text_delta":
                            if let delta = assembler.addText(data.delta?.text ?? "") { continuation.yield(delta) }
                        case "thinking_delta":
                            if let delta = assembler.addReasoning(data.delta?.thinking ?? "") { continuation.yield(delta) }
                        default: break  // signature_delta, input_json_delta, citations_delta
                        }
                    case "message_delta":
                        if let reason = data.delta?.stopReason {
                            assembler.stopReason = Self.stopReason(reason, sequence: data.delta?.stopSequence)
                        }
                        if let output = data.usage?.outputTokens {
                            var usage = assembler.usage ?? TokenUsage()
                            usage.outputTokens = output
                            if let input = data.usage?.inputTokens { usage.inputTokens = input }
                            assembler.usage = usage
                        }
                    case "message_stop":
                        return true
                    case "error":
                        throw Self.streamError(data.error)
                    default: break  // ping, content_block_stop, and future event types
                    }
                    return false
                }
                reading: for try await buffer in response.body {
                    for event in parser.feed(buffer.readableBytesView) where try handle(event) {
                        finished = true
                        break reading
                    }
                }
                if !finished, let event = parser.finish() {
                    finished = (try? handle(event)) ?? false
                }
                guard finished else {
                    throw ProviderError.network("connection dropped mid-stream (no message_stop event)")
                }
                return assembler.response(latency: ContinuousClock.now - start)
            }
        }
    }
}
