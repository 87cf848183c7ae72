import Foundation
import Models
import Tokenizers

/// What happens to one request between forward passes: its sampler, detokenizer, stop strings
/// and counts. `Session.run` drives one of these over a private cache; the agents scheduler
/// drives many over one batched pass, so the two produce the same tokens for the same logits.
public struct GenerationState: Sendable {
    public let options: GenerationOptions
    public private(set) var summary = GenerationSummary()
    /// Whether the generation has ended (then `nextToken` is nil).
    public private(set) var isFinished = false
    private var sampler: Sampler
    private var decoder: StreamingDecoder
    private var stops: StopStringFilter
    private var history: [Int32]
    private let endOfGeneration: @Sendable (Int32) -> Bool

    /// `history` is the sequence the model has seen (for repetition penalties).
    public init(engine: Engine, options: GenerationOptions, history: [Int32]) {
        self.options = options
        sampler = Sampler(options.sampling)
        decoder = StreamingDecoder(tokenizer: engine.tokenizer, renderSpecial: false)
        stops = StopStringFilter(options.stopStrings)
        self.history = history
        let tokenizer = engine.tokenizer
        endOfGeneration = { tokenizer.isEndOfGeneration($0) }
        summary.finishReason = .maxTokens
        if options.maxTokens <= 0 { isFinished = true }
    }

    /// The token the next forward pass must run: the last one sampled, while generating.
    public var nextToken: Int32? { isFinished ? nil : summary.outputIds.last }

    /// Samples from one row of `logits` (modified in place by the sampler). Returns the token to
    /// stream (text may be empty while a stop string is pending), or nil when the sample ended
    /// the generation without output.
    public mutating func accept(logits: UnsafeMutableBufferPointer<Float>) throws -> GeneratedToken? {
        precondition(!isFinished)
        let top = options.logprobs > 0 ? topLogprobs(UnsafeBufferPointer(logits), k: options.logprobs) : []
        let next = sampler.sample(logits, history: history)
        history.append(next)
        summary.decodeTokens += 1
        if options.stopAtEndOfGeneration && endOfGeneration(next) {
            summary.finishReason = .endOfGeneration
            summary.endOfGenerationToken = next
            isFinished = true
            return nil
        }
        summary.outputIds.append(next)
        let (text, stopped) = stops.push(try decoder.append(next))
        summary.text += text
        if stopped {
            summary.finishReason = .stopString
            isFinished = true
        } else if summary.outputIds.count >= options.maxTokens {
            isFinished = true
        }
        return GeneratedToken(id: next, text: text, topLogprobs: top)
    }

    /// Ends the generation early (context full, cancelled).
    public mutating func stop(_ reason: FinishReason) {
        if !isFinished { summary.finishReason = reason }
        isFinished = true
    }

    /// Text held back at the end (an incomplete character or a partial stop string that never
    /// completed), as a final token with id -1, or nil when there is none.
    public mutating func finish() -> GeneratedToken? {
        isFinished = true
        let (tail, _) = stops.push(decoder.finish(), final: true)
        guard !tail.isEmpty && summary.finishReason != .stopString else { return nil }
        summary.text += tail
        return GeneratedToken(id: -1, text: tail, topLogprobs: [])
    }

    /// Records the prompt side of the summary.
    public mutating func setPrompt(tokens: Int, reused: Int, seconds: Double) {
        summary.promptTokens = tokens
        summary.reusedPromptTokens = reused
        summary.promptSeconds = seconds
    }

    public mutating func setDecodeSeconds(_ seconds: Double) { summary.decodeSeconds = seconds }
}
