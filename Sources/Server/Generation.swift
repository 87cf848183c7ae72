import Agents
import Engine
import Foundation
import Models
import Tokenizers

/// The outcome of one generation, however it was delivered.
struct GenerationResult: Sendable {
    var text = ""
    var tokens: [GeneratedToken] = []
    var summary = GenerationSummary()
}

/// Runs requests on the backend and keeps the metrics; the API-specific routes only format.
struct Generator: Sendable {
    let backend: any CompletionBackend
    let metrics: ServerMetrics

    /// Starts `request`; the runtime's refusals become API errors (the server's retry hint on 429).
    func start(_ request: AgentRequest) throws(APIError) -> AsyncThrowingStream<GenerationEvent, Error> {
        do {
            return try backend.submit(request)
        } catch {
            throw Self.apiError(error)
        }
    }

    static func apiError(_ error: Error) -> APIError {
        if let error = error as? APIError { return error }
        if let error = error as? AgentError { return APIError(error) }
        if let error = error as? ModelError { return APIError(.badRequest, "\(error)") }
        return APIError(.internalServerError, "generation failed: \(error)")
    }

    /// Delivers each token to `onToken` (text may be empty mid-character) and returns the whole
    /// result; records time to first token and per-token latency from `received`.
    func run(_ stream: AsyncThrowingStream<GenerationEvent, Error>, received: ContinuousClock.Instant,
             onToken: (GeneratedToken) async throws -> Void = { _ in }) async throws -> GenerationResult {
        var result = GenerationResult()
        var last = received
        for try await event in stream {
            switch event {
            case .token(let token):
                let now = ContinuousClock.now
                if result.tokens.isEmpty {
                    metrics.timeToFirstToken.record(now - received)
                } else {
                    metrics.timePerToken.record(now - last)
                }
                last = now
                result.tokens.append(token)
                result.text += token.text
                try await onToken(token)
            case .finished(let summary):
                result.summary = summary
                metrics.countFinished(promptTokens: summary.promptTokens, cachedTokens: summary.reusedPromptTokens,
                                      generatedTokens: summary.decodeTokens)
            }
        }
        return result
    }

    /// A non-streamed generation: the whole result, failures as API errors.
    func collect(_ stream: AsyncThrowingStream<GenerationEvent, Error>, received: ContinuousClock.Instant) async throws(APIError) -> GenerationResult {
        do { return try await run(stream, received: received) } catch { throw Self.apiError(error) }
    }

    /// Which of `stops` ended the generation: the one that follows the returned text in the
    /// decoded output (nil when none, or when another reason ended it).
    func matchedStop(_ result: GenerationResult, stops: [String]) -> String? {
        guard result.summary.finishReason == .stopString else { return nil }
        let decoded = (try? backend.engine.tokenizer.decode(result.summary.outputIds, renderSpecial: false)) ?? ""
        return stops.first { decoded.hasPrefix(result.text + $0) } ?? (stops.count == 1 ? stops[0] : nil)
    }
}

extension FinishReason {
    var openAI: String {
        switch self {
        case .endOfGeneration, .stopString: "stop"
        case .maxTokens, .contextFull: "length"
        }
    }

    var anthropic: String {
        switch self {
        case .endOfGeneration: "end_turn"
        case .stopString: "stop_sequence"
        case .maxTokens, .contextFull: "max_tokens"
        }
    }
}
