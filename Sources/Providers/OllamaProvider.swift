import AsyncHTTPClient
import Foundation
import NIOCore

/// Ollama's native chat API (`POST {host}/api/chat`).
///
/// Wire facts this relies on: streaming is the default and is newline-delimited JSON
/// (`application/x-ndjson`), not SSE; `stream: false` gives one object; sampling parameters go
/// in `options` (`num_predict`, `temperature`, `top_p`, `stop`, `seed`); reasoning models put
/// their trace in `message.thinking`; the last object has `done: true`, `done_reason`,
/// `prompt_eval_count` and `eval_count`; errors are `{"error": "..."}`, also mid-stream.
public struct OllamaProvider: ChatProvider {
    public static let defaultHost = "http://127.0.0.1:11434"

    public var backend: BackendKind { .ollama }
    let transport: HTTPTransport
    let baseURL: String
    let apiKey: String?
    let redactor: Redactor

    /// - Parameter host: anything `OLLAMA_HOST` accepts (see `normalizeHost`).
    public init(transport: HTTPTransport, host: String = OllamaProvider.defaultHost, apiKey: String? = nil) {
        self.transport = transport
        self.baseURL = Self.normalizeHost(host)
        self.apiKey = apiKey?.isEmpty == true ? nil : apiKey
        self.redactor = Redactor(secrets: [apiKey].compactMap { $0 })
    }

    /// Interprets `OLLAMA_HOST` as Ollama's own client does: no scheme means `http` on port
    /// 11434 (`"0.0.0.0"`, `"gpu-box:8080"`); an explicit scheme without a port means that
    /// scheme's standard port; a path is kept (for reverse proxies).
    public static func normalizeHost(_ raw: String) -> String {
        var host = raw.trimmingCharacters(in: .whitespaces)
        if host.isEmpty { return defaultHost }
        let hasScheme = host.contains("://")
        if !hasScheme { host = "http://" + host }
        guard var components = URLComponents(string: host), components.host?.isEmpty == false else { return host }
        if components.port == nil {
            components.port = hasScheme ? (components.scheme == "https" ? 443 : 80) : 11434
        }
        if components.path == "/" { components.path = "" }
        return components.string ?? host
    }

    // MARK: Wire format

    struct Body: Encodable {
        struct Message: Encodable {
            var role: String
            var content: String
        }
        struct Options: Encodable {
            var num_predict: Int?
            var temperature: Double?
            var top_p: Double?
            var stop: [String]?
            var seed: Int?
        }
        var model: String
        var messages: [Message]
        var stream: Bool
        var options: Options
        var think: Bool?
    }

    struct Reply: Decodable {
        struct Message: Decodable {
            var content: String?
            var thinking: String?
        }
        var model: String?
        var message: Message?
        var done: Bool?
        var done_reason: String?
        var prompt_eval_count: Int?
        var eval_count: Int?
        var error: String?
    }

    func call(_ request: ChatRequest, stream: Bool) throws -> HTTPCall {
        var messages = request.messages.filter { $0.role != .system }.map { Body.Message(role: $0.role.rawValue, content: $0.content) }
        if let system = request.combinedSystem { messages.insert(Body.Message(role: "system", content: system), at: 0) }
        let body = Body(model: request.model, messages: messages, stream: stream, options: Body.Options(
            num_predict: request.maxTokens, temperature: request.temperature, top_p: request.topP,
            stop: request.stopSequences.isEmpty ? nil : request.stopSequences, seed: request.seed),
            think: request.thinkingBudget.map { _ in true })
        var headers = [("content-type", "application/json"), ("user-agent", Wire.userAgent)]
        if let apiKey { headers.append(("authorization", "Bearer \(apiKey)")) }
        return HTTPCall(url: Wire.join(baseURL, "/api/chat"), headers: headers, body: try Wire.encode(body))
    }

    static func errorMessage(_ bytes: [UInt8]) -> String? { GenericErrorBody.message(from: bytes) }

    static func stopReason(_ raw: String?) -> StopReason? {
        switch raw {
        case nil: return nil
        case "stop": return .endTurn
        case "length": return .maxTokens
        case let other?: return .other(other)
        }
    }

    static func usage(_ reply: Reply) -> TokenUsage? {
        guard reply.prompt_eval_count != nil || reply.eval_count != nil else { return nil }
        return TokenUsage(inputTokens: reply.prompt_eval_count ?? 0, outputTokens: reply.eval_count ?? 0)
    }

    // MARK: ChatProvider

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let call = try call(request, stream: false)
        let start = ContinuousClock.now
        return try await transport.perform(call, redactor: redactor, errorMessage: Self.errorMessage) { response in
            let reply = try Wire.decode(Reply.self, from: try await Wire.collect(response), what: "Ollama chat reply")
            if let error = reply.error { throw ProviderError.serverError(status: 200, message: error) }
            guard let message = reply.message else { throw ProviderError.malformedResponse("Ollama reply has no message") }
            return ChatResponse(
                model: reply.model ?? request.model, text: message.content ?? "",
                reasoning: message.thinking?.isEmpty == false ? message.thinking : nil,
                stopReason: Self.stopReason(reply.done_reason), usage: Self.usage(reply),
                latency: ContinuousClock.now - start)
        }
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error> {
        let provider = self
        return Wire.makeStream { continuation in
            let call = try provider.call(request, stream: true)
            let start = ContinuousClock.now
            return try await provider.transport.perform(call, redactor: provider.redactor, errorMessage: Self.errorMessage) { response in
                var splitter = LineSplitter()
                var assembler = ResponseAssembler(model: request.model)
                var done = false
                func handle(_ line: String) throws {
                    let reply = try Wire.decode(Reply.self, from: line, what: "Ollama stream line")
                    if let error = reply.error { throw ProviderError.serverError(status: 200, message: error) }
                    if let model = reply.model { assembler.model = model }
                    if let thinking = reply.message?.thinking, let delta = assembler.addReasoning(thinking) { continuation.yield(delta) }
                    if let text = reply.message?.content, let delta = assembler.addText(text) { continuation.yield(delta) }
                    if reply.done == true {
                        done = true
                        assembler.stopReason = Self.stopReason(reply.done_reason)
                        assembler.usage = Self.usage(reply)
                    }
                }
                reading: for try await buffer in response.body {
                    for line in splitter.feed(buffer.readableBytesView) {
                        try handle(line)
                        if done { break reading }
                    }
                }
                if !done, let last = splitter.finish() {
                    do { try handle(last) } catch ProviderError.malformedResponse {
                        throw ProviderError.network("connection dropped mid-stream (truncated line)")
                    }
                }
                guard done else { throw ProviderError.network("connection dropped mid-stream (no final done:true line)") }
                return assembler.response(latency: ContinuousClock.now - start)
            }
        }
    }
}
