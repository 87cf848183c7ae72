import Foundation
import KVCache
import Models
import Tokenizers

/// One sequence: its KV cache and the tokens in it.
///
/// Each `generate` call prefills only the tokens that are not already cached (the longest
/// common prefix of the new prompt and the cached tokens is kept), so a multi-turn chat
/// re-processes just the new turn. One generation at a time per session.
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

        var summary = GenerationSummary()
        let start = Date()
        let prefilled = try prefill(prompt, batchSize: options.batchSize)
        var hidden = prefilled.hidden
        summary.promptTokens = prompt.count
        summary.reusedPromptTokens = prefilled.reused
        summary.promptSeconds = Date().timeIntervalSince(start)

        let decodeStart = Date()
        var sampler = Sampler(options.sampling)
        var decoder = StreamingDecoder(tokenizer: engine.tokenizer, renderSpecial: false)
        var stops = StopStringFilter(options.stopStrings)
        var logits = [Float](repeating: 0, count: vocab)
        var history = tokens
        summary.finishReason = .maxTokens
        for step in 0..<options.maxTokens {
            if step > 0 {
                guard cache.count < context else { summary.finishReason = .contextFull; break }
                hidden = try model.forward(tokens: [summary.outputIds.last!], cache: cache, outputRows: 0..<1)
                tokens.append(summary.outputIds.last!)
            }
            hidden.withUnsafeBufferPointer { h in
                logits.withUnsafeMutableBufferPointer { l in
                    model.logits(hidden: h.baseAddress!, rows: 1, into: l.baseAddress!)
                }
            }
            let top = options.logprobs > 0
                ? logits.withUnsafeBufferPointer { topLogprobs($0, k: options.logprobs) } : []
            let next = logits.withUnsafeMutableBufferPointer { sampler.sample($0, history: history) }
            history.append(next)
            if options.stopAtEndOfGeneration && engine.tokenizer.isEndOfGeneration(next) {
                summary.finishReason = .endOfGeneration
                summary.decodeTokens += 1
                break
            }
            summary.outputIds.append(next)
            summary.decodeTokens += 1
            let piece = try decoder.append(next)
            let (text, stopped) = stops.push(piece)
            summary.text += text
            try emit(GeneratedToken(id: next, text: text, topLogprobs: top))
            if stopped {
                summary.finishReason = .stopString
                break
            }
        }
        let (tail, _) = stops.push(decoder.finish(), final: true)
        if !tail.isEmpty && summary.finishReason != .stopString {
            summary.text += tail
            try emit(GeneratedToken(id: -1, text: tail, topLogprobs: []))
        }
        summary.decodeSeconds = Date().timeIntervalSince(decodeStart)
        return summary
    }

    /// Brings the cache to hold `prompt`, reusing the cached common prefix (at least the last
    /// prompt token is always run), and returns the hidden state of the final position.
    private func prefill(_ prompt: [Int32], batchSize: Int) throws -> (hidden: [Float], reused: Int) {
        var common = 0
        while common < min(tokens.count, prompt.count - 1) && tokens[common] == prompt[common] { common += 1 }
        if common < tokens.count {
            cache.truncate(to: common)
            common = cache.count
            tokens.removeSubrange(common...)
        }
        var hidden: [Float] = []
        var i = common
        while i < prompt.count {
            let end = min(i + max(1, batchSize), prompt.count)
            let chunk = Array(prompt[i..<end])
            hidden = try engine.model.forward(tokens: chunk, cache: cache, outputRows: (chunk.count - 1)..<chunk.count)
            tokens.append(contentsOf: chunk)
            i = end
        }
        return (hidden, common)
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
public enum EngineError: Error, Sendable, CustomStringConvertible {
    case emptyPrompt

    public var description: String {
        switch self {
        case .emptyPrompt: "the prompt is empty"
        }
    }
}

/// Holds back streamed text that might be the start of a stop string, and cuts the text at
/// the first stop string found.
struct StopStringFilter {
    let stops: [String]
    private var held = ""

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds `text`; returns what can be emitted now and whether a stop string was reached.
    mutating func push(_ text: String, final: Bool = false) -> (String, Bool) {
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
