import Foundation
import KVCache
import Models

/// Perplexity as llama.cpp's `llama-perplexity` computes it: the tokens are cut into chunks of
/// `context` tokens, each evaluated from an empty cache (its first token replaced by BOS when
/// the model adds one), and the second half of each chunk is scored: the negative
/// log-likelihood of each token given everything before it in the chunk.
public struct PerplexityResult: Sendable {
    public var chunks = 0
    public var scoredTokens = 0
    public var negativeLogLikelihood = 0.0
    /// Running estimate after each chunk.
    public var estimates: [Double] = []
    public var perplexity: Double { exp(negativeLogLikelihood / Double(max(scoredTokens, 1))) }
}

public enum Perplexity {
    /// Scores `tokens` (the whole text, tokenized with BOS as the model says) in chunks of
    /// `context`. `maxChunks` limits the work (nil: every whole chunk). `progress` is called
    /// after each chunk. With `compression`, each chunk streams through a cache compressed to
    /// its budget (StreamingLLM's evaluation; see `StreamingCompression`).
    public static func compute(model: Transformer, tokens: [Int32], context: Int, bos: Int32?,
                               kv: KVStorage = .f16, batchSize: Int = 512, maxChunks: Int? = nil,
                               compression: StreamingCompression? = nil,
                               progress: (PerplexityResult) -> Void = { _ in }) throws -> PerplexityResult {
        guard context >= 4 else { throw ModelError.invalidHyperparameter("perplexity context \(context) is too small") }
        if let compression, compression.budget <= compression.step || compression.step < 1 {
            throw ModelError.invalidHyperparameter("KV budget \(compression.budget) must exceed the step \(compression.step)")
        }
        let available = tokens.count / context
        guard available >= 1 else {
            throw ModelError.promptTooLong(tokens: tokens.count, context: context)
        }
        let chunks = min(available, maxChunks ?? available)
        let first = context / 2
        var result = PerplexityResult()
        for c in 0..<chunks {
            let start = c * context
            let hidden = try scoredHiddenStates(model: model, tokens: tokens, chunk: c, context: context, bos: bos, kv: kv,
                                                batchSize: batchSize, compression: compression)
            let scored = context - 1 - first
            result.negativeLogLikelihood += negativeLogLikelihood(
                model: model, hidden: hidden, targets: tokens[(start + first + 1)..<(start + context)])
            result.scoredTokens += scored
            result.chunks += 1
            result.estimates.append(result.perplexity)
            progress(result)
        }
        return result
    }

    /// The output-normed hidden states of chunk `c`'s positions `context/2 ..< context-1` (each
    /// predicts the next token), the chunk evaluated from an empty cache of `kv`.
    static func scoredHiddenStates(model: Transformer, tokens: [Int32], chunk c: Int, context: Int, bos: Int32?,
                                   kv: KVStorage, batchSize: Int, compression: StreamingCompression? = nil) throws -> [Float] {
        let start = c * context, first = context / 2
        var chunk = Array(tokens[start..<(start + context)])
        if let bos { chunk[0] = bos }
        let cache = model.makeCache(contextLength: context, storage: kv)
        compression?.attachStatistics(to: cache)
        let step = compression?.step ?? batchSize
        var hidden: [Float] = []
        var i = 0
        while i < context {
            let end = min(i + step, context)
            compression?.makeRoom(for: end - i, in: cache)
            let lo = max(i, first), hi = min(end, context - 1)
            let h = try model.forward(tokens: Array(chunk[i..<end]), cache: cache,
                                      outputRows: lo < hi ? (lo - i)..<(hi - i) : 0..<0)
            hidden.append(contentsOf: h)
            i = end
        }
        return hidden
    }

    /// The negative log-likelihood of `targets`, each predicted by its row of `hidden`.
    static func negativeLogLikelihood(model: Transformer, hidden: [Float], targets: ArraySlice<Int32>) -> Double {
        let vocab = model.hyperparameters.vocabularySize
        let d = model.hyperparameters.embeddingLength
        let rowsPerPass = 32
        var logits = [Float](repeating: 0, count: rowsPerPass * vocab)
        var total = 0.0
        var r = 0
        while r < targets.count {
            let n = min(rowsPerPass, targets.count - r)
            hidden.withUnsafeBufferPointer { hp in
                logits.withUnsafeMutableBufferPointer { lp in
                    model.logits(hidden: hp.baseAddress! + r * d, rows: n, into: lp.baseAddress!)
                }
            }
            for j in 0..<n {
                let target = Int(targets[targets.startIndex + r + j])
                total -= logits.withUnsafeBufferPointer {
                    logSoftmax(UnsafeBufferPointer(rebasing: $0[(j * vocab)..<((j + 1) * vocab)]), at: target)
                }
            }
            r += n
        }
        return total
    }

    /// log softmax(x)[i], accumulated in double.
    static func logSoftmax(_ x: UnsafeBufferPointer<Float>, at i: Int) -> Double {
        var m = -Float.infinity
        for v in x { m = max(m, v) }
        var sum = 0.0
        for v in x { sum += Double(expf(v - m)) }
        return Double(x[i] - m) - log(sum)
    }
}
