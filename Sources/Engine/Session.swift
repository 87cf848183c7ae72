import Foundation
import KVCache
import Models
import Tokenizers

/// One sequence: its KV cache and the tokens in it.
///
/// Each `generate` call prefills only the tokens that are not already cached (the longest
/// common prefix of the new prompt and the cached tokens is kept), so a multi-turn chat
/// re-processes just the new turn. One generation at a time per session.
///
/// A generation leaves its last sampled token (and the end-of-generation token it stopped at)
/// out of the cache: running it would cost a forward pass that is wasted when the session is
/// discarded, while the next turn's prompt contains it anyway and prefills it with the rest.
/// Before saving a session for later, bring it up to the full conversation with `prefill(_:)`.
public final class Session: @unchecked Sendable {
    public let engine: Engine
    public let cache: SequenceKVCache
    /// The tokens whose keys and values are in the cache, in order.
    public internal(set) var tokens: [Int32] = []
    let lock = NSLock()

    init(engine: Engine, cache: SequenceKVCache) {
        self.engine = engine
        self.cache = cache
    }

    /// Streams the continuation of `prompt` (the full sequence: cached tokens that match are
    /// reused). The stream ends with `.finished`, or throws.
    public func generate(prompt: [Int32], options: GenerationOptions) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let thread = Thread {
                do {
                    let summary = try self.run(prompt: prompt, options: options) { token in
                        continuation.yield(.token(token))
                    }
                    continuation.yield(.finished(summary))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    /// The generation loop, synchronous: prefill in batches, then sample, emit and decode one
    /// token at a time. `emit` is called for each generated token.
    public func run(prompt: [Int32], options: GenerationOptions,
                    emit: (GeneratedToken) throws -> Void) throws -> GenerationSummary {
        lock.lock()
        defer { lock.unlock() }
        let model = engine.model
        let vocab = model.hyperparameters.vocabularySize
        let context = cache.configuration.contextLength
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        guard prompt.count < context else { throw ModelError.promptTooLong(tokens: prompt.count, context: context) }

        let start = Date()
        let prefilled = try bringCache(to: prompt, rerunLast: true, batchSize: options.batchSize,
                                       numerics: options.numerics)
        var hidden = prefilled.hidden
        var state = GenerationState(engine: engine, options: options, history: tokens)
        state.setPrompt(tokens: prompt.count, reused: prefilled.reused, seconds: Date().timeIntervalSince(start))

        let decodeStart = Date()
        var logits = [Float](repeating: 0, count: vocab)
        var first = true
        while !state.isFinished {
            if !first {
                guard cache.count < context, let next = state.nextToken else { state.stop(.contextFull); break }
                // The step's forward pass writes into `hidden` in place: no allocation per token.
                try hidden.withUnsafeMutableBufferPointer { h in
                    try model.decode(token: next, cache: cache, numerics: options.numerics, into: h.baseAddress!)
                }
                tokens.append(next)
            }
            first = false
            hidden.withUnsafeBufferPointer { h in
                logits.withUnsafeMutableBufferPointer { l in
                    model.logits(hidden: h.baseAddress!, rows: 1, numerics: options.numerics, into: l.baseAddress!)
                }
            }
            if let token = try logits.withUnsafeMutableBufferPointer({ try state.accept(logits: $0) }) {
                try emit(token)
            }
        }
        if let tail = state.finish() { try emit(tail) }
        state.setDecodeSeconds(Date().timeIntervalSince(decodeStart))
        return state.summary
    }

    /// Brings the cache to hold `sequence`, reusing the cached common prefix, and returns the
    /// hidden state of its final position (when anything ran) and how many tokens were reused.
    /// `rerunLast` keeps the last token out of the reused prefix, so a generation always has
    /// the final position's hidden state to sample from. Callers hold `lock`.
    func bringCache(to sequence: [Int32], rerunLast: Bool, batchSize: Int,
                    numerics: Numerics? = nil) throws -> (hidden: [Float], reused: Int) {
        let context = cache.configuration.contextLength
        guard sequence.count <= context else {
            throw ModelError.promptTooLong(tokens: sequence.count, context: context)
        }
        let limit = min(tokens.count, rerunLast ? sequence.count - 1 : sequence.count)
        var common = 0
        while common < limit && tokens[common] == sequence[common] { common += 1 }
        if common < tokens.count {
            // A sliding-window layer that no longer holds the keys position `common` needs
            // makes `truncate` clear the cache; the kept tokens are then run again below.
            cache.truncate(to: common)
            common = cache.count
            tokens.removeSubrange(common...)
        }
        var hidden: [Float] = []
        var i = common
        while i < sequence.count {
            let end = min(i + max(1, batchSize), sequence.count)
            let chunk = Array(sequence[i..<end])
            hidden = try engine.model.forward(tokens: chunk, cache: cache, outputRows: (chunk.count - 1)..<chunk.count,
                                              numerics: numerics)
            tokens.append(contentsOf: chunk)
            i = end
        }
        return (hidden, common)
    }

    /// Runs `newTokens` through the model after the cached ones, without generating: a system
    /// prompt, a document or a tool result goes into the cache now, so later turns (and forks
    /// of this session) start from it.
    public func append(tokens newTokens: [Int32], batchSize: Int = 512) throws {
        guard !newTokens.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        _ = try bringCache(to: tokens + newTokens, rerunLast: false, batchSize: batchSize)
    }

    /// Keeps the first `count` tokens and forgets the rest, as if the session had only ever
    /// been fed those. Usually this just drops cache rows; but a sliding-window layer keeps only
    /// its last `window` positions, so going back further than that leaves it without keys the
    /// kept tokens need, and the kept tokens are then prefilled again. Returns how many tokens
    /// were recomputed (0 when the cache could simply be cut).
    @discardableResult
    public func rewind(to count: Int, batchSize: Int = 512) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        guard count >= 0 && count <= tokens.count else {
            throw EngineError.rewindBeyondEnd(requested: count, tokens: tokens.count)
        }
        let kept = Array(tokens.prefix(count))
        let reused = try bringCache(to: kept, rerunLast: false, batchSize: batchSize).reused
        return count - reused
    }

    /// Makes the session hold exactly `sequence` without generating: the longest common prefix
    /// with the cached tokens is kept, the rest forgotten, and what is missing prefilled.
    /// Returns how many tokens were reused. This is how a caller brings a session up to the
    /// conversation the next turn will see (e.g. the last sampled token and the end-of-turn
    /// marker, which a generation samples but does not run) before saving it.
    @discardableResult
    public func prefill(_ sequence: [Int32], batchSize: Int = 512) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        return try bringCache(to: sequence, rerunLast: false, batchSize: batchSize).reused
    }

    /// Forgets the cached sequence.
    public func reset() {
        lock.lock()
        defer { lock.unlock() }
        cache.clear()
        tokens.removeAll()
    }
}

/// Errors of the generation layer.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyPrompt
    /// `rewind(to:)` was asked to keep more tokens than the session holds.
    case rewindBeyondEnd(requested: Int, tokens: Int)
    /// A context length below one token.
    case invalidContextLength(Int)

    public var description: String {
        switch self {
        case .emptyPrompt: "the prompt is empty"
        case .rewindBeyondEnd(let requested, let tokens):
            "cannot rewind to \(requested) tokens: the session holds \(tokens)"
        case .invalidContextLength(let n): "the context length must be at least 1 token, got \(n)"
        }
    }
}

/// Holds back streamed text that might be the start of a stop string, and cuts the text at
/// the first stop string found.
public struct StopStringFilter: Sendable {
    let stops: [String]
    private var held = ""

    public init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds `text`; returns what can be emitted now and whether a stop string was reached.
    public mutating func push(_ text: String, final: Bool = false) -> (String, Bool) {
        held += text
        if stops.isEmpty { defer { held = "" }; return (held, false) }
        var cut: String.Index?
        for s in stops {
            if let r = held.range(of: s), cut == nil || r.lowerBound < cut! { cut = r.lowerBound }
        }
        if let cut {
            let out = String(held[..<cut])
            held = ""
            return (out, true)
        }
        if final { defer { held = "" }; return (held, false) }
        // Keep the longest suffix that is a prefix of some stop string.
        var keep = 0
        for s in stops {
            var n = min(s.count, held.count)
            while n > keep {
                if held.hasSuffix(s.prefix(n)) { keep = n; break }
                n -= 1
            }
        }
        let emitEnd = held.index(held.endIndex, offsetBy: -keep)
        let out = String(held[..<emitEnd])
        held = String(held[emitEnd...])
        return (out, false)
    }
}
