import Engine
import Foundation
import Providers

/// The local rdic engine behind the same `ChatProvider` protocol as the hosted backends, so
/// research code can swap Claude for a local Gemma without other changes. Each request runs in
/// a fresh session (its own KV cache) on the shared, already loaded model.
public final class LocalEngineProvider: ChatProvider {
    public let engine: Engine
    public let modelName: String
    /// KV-cache capacity of each request's session.
    public let contextLength: Int

    public var backend: BackendKind { .local }

    public init(engine: Engine, modelName: String, contextLength: Int = 8192) {
        self.engine = engine
        self.modelName = modelName
        self.contextLength = contextLength
    }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        try await collect(request)
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                let start = ContinuousClock.now
                do {
                    let prompt = try self.promptTokens(request)
                    let session = self.engine.makeSession(contextLength: min(self.contextLength, self.engine.model.hyperparameters.contextLength))
                    var text = ""
                    for try await event in session.generate(prompt: prompt, options: Self.options(request)) {
                        switch event {
                        case .token(let token) where !token.text.isEmpty:
                            text += token.text
                            continuation.yield(.text(token.text))
                        case .token:
                            break
                        case .finished(let summary):
                            continuation.yield(.done(ChatResponse(
                                model: request.model.isEmpty ? self.modelName : request.model, text: text,
                                stopReason: Self.stopReason(summary.finishReason),
                                usage: TokenUsage(inputTokens: summary.promptTokens, outputTokens: summary.decodeTokens),
                                latency: ContinuousClock.now - start)))
                        }
                    }
                    continuation.finish()
                } catch let error as ProviderError {
                    continuation.finish(throwing: error)
                } catch {
                    continuation.finish(throwing: ProviderError.badRequest(status: 0, message: "\(error)"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The conversation rendered with the model's chat template; a model without one (a base
    /// model) continues the plain text of the messages.
    func promptTokens(_ request: ChatRequest) throws -> [Int32] {
        var messages: [ChatMessage] = []
        if let system = request.combinedSystem { messages.append(.init(role: "system", content: system)) }
        for m in request.messages where m.role != .system {
            messages.append(.init(role: m.role == .user ? "user" : "assistant", content: m.content))
        }
        guard engine.chatTemplate != nil else {
            return engine.encode(messages.map(\.content).joined(separator: "\n\n"))
        }
        return engine.encode(chat: messages)
    }

    static func options(_ request: ChatRequest) -> GenerationOptions {
        var sampling = SamplingParameters()
        if let t = request.temperature { sampling.temperature = Float(t) }
        if let p = request.topP { sampling.topP = Float(p) }
        if let seed = request.seed { sampling.seed = UInt64(truncatingIfNeeded: seed) }
        return GenerationOptions(maxTokens: request.maxTokens, sampling: sampling, stopStrings: request.stopSequences)
    }

    static func stopReason(_ reason: FinishReason) -> StopReason {
        switch reason {
        case .endOfGeneration: .endTurn
        case .maxTokens, .contextFull: .maxTokens
        case .stopString: .stopSequence(nil)
        }
    }
}
