import APIWire
import AsyncHTTPClient
import Foundation
import NIOCore

/// Accumulates streamed deltas into the final `ChatResponse`, so every backend reports the
/// same thing whether the caller streamed or not.
struct ResponseAssembler: Sendable {
    var model: String
    var text = ""
    var reasoning = ""
    var sawReasoning = false
    var stopReason: StopReason?
    var usage: TokenUsage?

    init(model: String) { self.model = model }

    mutating func addText(_ delta: String) -> ChatStreamEvent? {
        guard !delta.isEmpty else { return nil }
        text += delta
        return .text(delta)
    }

    mutating func addReasoning(_ delta: String) -> ChatStreamEvent? {
        guard !delta.isEmpty else { return nil }
        sawReasoning = true
        reasoning += delta
        return .reasoning(delta)
    }

    func response(latency: Duration) -> ChatResponse {
        ChatResponse(model: model, text: text, reasoning: sawReasoning ? reasoning : nil,
                     stopReason: stopReason, usage: usage, latency: latency)
    }
}

enum Wire {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        do { return Array(try encoder.encode(value)) } catch {
            throw ProviderError.badRequest(status: 0, message: "could not encode request: \(error)")
        }
    }

    /// Decodes a documented JSON shape; anything else is a `malformedResponse` that quotes the
    /// start of the offending text (after redaction by the caller's transport).
    static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            let snippet = String(decoding: bytes.prefix(120), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw ProviderError.malformedResponse("\(what) is not the documented JSON (\(snippet.isEmpty ? "empty body" : snippet))")
        }
    }

    /// The shared OpenAI / Anthropic wire types (module APIWire) go through its snake_case
    /// coders; Ollama's private types keep the plain ones.
    static func encodeAPI<T: Encodable>(_ value: T) throws -> [UInt8] {
        do { return Array(try WireCoding.encode(value)) } catch {
            throw ProviderError.badRequest(status: 0, message: "could not encode request: \(error)")
        }
    }

    static func decodeAPI<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>, what: String) throws -> T {
        do {
            return try WireCoding.decode(T.self, from: Data(bytes))
        } catch {
            let snippet = String(decoding: bytes.prefix(120), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            throw ProviderError.malformedResponse("\(what) is not the documented JSON (\(snippet.isEmpty ? "empty body" : snippet))")
        }
    }

    static func decodeAPI<T: Decodable>(_ type: T.Type, from text: String, what: String) throws -> T {
        try decodeAPI(type, from: Array(text.utf8), what: what)
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String, what: String) throws -> T {
        try decode(type, from: Array(text.utf8), what: what)
    }

    /// Collects a non-streamed body (bounded: an answer larger than 64 MiB is not an answer).
    static func collect(_ response: HTTPClientResponse) async throws -> [UInt8] {
        Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
    }

    /// Joins a base URL and a path without doubling or dropping the slash.
    static func join(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + (path.hasPrefix("/") ? path : "/" + path)
    }

    static let userAgent = "rdic/0.1"

    /// Runs `body` in a task feeding an `AsyncThrowingStream`; cancelling the consumer cancels
    /// the request.
    static func makeStream(
        _ body: @escaping @Sendable (AsyncThrowingStream<ChatStreamEvent, Error>.Continuation) async throws -> ChatResponse
    ) -> AsyncThrowingStream<ChatStreamEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await body(continuation)
                    continuation.yield(.done(response))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// Decodes `{"error": {"message": ...}}`, `{"error": "..."}` and `{"message": ...}`: the error
/// bodies of OpenAI, DeepSeek, vLLM, llama.cpp's server, Ollama and Anthropic all fit one of them.
struct GenericErrorBody: Decodable {
    struct Inner: Decodable {
        var message: String?
        var type: String?
    }
    var error: Inner?
    var errorString: String?
    var message: String?

    enum CodingKeys: String, CodingKey { case error, message }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let inner = try? container.decode(Inner.self, forKey: .error) {
            error = inner
        } else {
            errorString = try? container.decode(String.self, forKey: .error)
        }
        message = try? container.decode(String.self, forKey: .message)
    }

    var bestMessage: String? {
        let candidates = [error?.message, errorString, message]
        return candidates.compactMap { $0 }.first { !$0.isEmpty }
    }

    static func message(from bytes: [UInt8]) -> String? {
        guard let body = try? JSONDecoder().decode(GenericErrorBody.self, from: Data(bytes)) else { return nil }
        return body.bestMessage
    }
}
