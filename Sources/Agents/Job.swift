import Engine
import Foundation
import KVCache
import Models

/// One request inside the scheduler: where its prompt stands and its generation state.
final class Job: @unchecked Sendable {
    let request: AgentRequest
    let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
    let submitted = Date()
    var entry: AgentEntry?
    var state: GenerationState
    /// Prompt tokens already in the cache (reused or prefilled).
    var cursor = 0
    var reused = 0
    var promptDone: Date?
    private let cancelLock = NSLock()
    private var _cancelled = false
    /// Tokens handed to the stream and tokens its reader has taken: a reader that falls
    /// behind holds its request back (`isAhead`) instead of letting tokens pile up unread.
    private var yielded = 0, taken = 0

    init(request: AgentRequest, engine: Engine,
         continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) {
        self.request = request
        self.continuation = continuation
        var options = request.options
        options.numerics = request.numerics
        state = GenerationState(engine: engine, options: options, history: request.prompt)
    }

    var isCancelled: Bool { cancelLock.withLock { _cancelled } }
    func cancel() { cancelLock.withLock { _cancelled = true } }

    /// Hands a token to the reader.
    func yield(_ token: GeneratedToken) {
        cancelLock.withLock { yielded += 1 }
        continuation.yield(.token(token))
    }

    /// The reader took a token.
    func tookToken() { cancelLock.withLock { taken += 1 } }

    /// Whether `limit` or more tokens wait unread.
    func isAhead(by limit: Int) -> Bool { cancelLock.withLock { yielded - taken >= limit } }

    var prompt: [Int32] { request.prompt }
    var isPrefilling: Bool { cursor < prompt.count }

    /// Brings the entry's cache to the longest common prefix with the prompt (keeping at least
    /// the last prompt token to run, whose logits start the generation).
    func attach(_ entry: AgentEntry) {
        self.entry = entry
        guard let cache = entry.cache else { return }
        var common = commonPrefix(entry.tokens, prompt)
        common = min(common, prompt.count - 1)
        if common < entry.tokens.count {
            // A sliding-window layer that no longer holds what position `common` needs makes
            // `truncate` clear the cache; the prompt is then prefilled from the start.
            cache.truncate(to: common)
            entry.tokens.removeSubrange(cache.count...)
        }
        cursor = cache.count
        reused = cursor
    }
}
