import Foundation
import KVCache
import Models

/// How far a cache setting moves the model's next-token distributions from a base setting, as
/// llama-perplexity's `--kl-divergence` reports it: the KL divergence KL(base ‖ test) of every
/// scored token's distribution, and the perplexity of each setting, on the same chunks.
public struct DistributionComparison: Sendable {
    public var base = PerplexityResult()
    public var test = PerplexityResult()
    /// KL(base ‖ test) in nats, one per scored token, in text order.
    public var divergences: [Double] = []
    /// Scored tokens whose most likely next token is the same under both settings.
    public var sameTopToken = 0

    public var meanDivergence: Double { divergences.reduce(0, +) / Double(max(divergences.count, 1)) }
    /// The `p`-quantile (0...1) of the per-token divergences (nearest rank, as llama.cpp).
    public func divergenceQuantile(_ p: Double) -> Double {
        guard !divergences.isEmpty else { return 0 }
        let sorted = divergences.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count - 1)).rounded())))]
    }
    public var sameTopShare: Double { Double(sameTopToken) / Double(max(divergences.count, 1)) }
}

extension Perplexity {
    /// Scores `tokens` in chunks of `context` with a `base` cache and a `test` cache (each chunk
    /// from an empty cache, as `compute` does) and compares their next-token distributions.
    public static func compare(model: Transformer, tokens: [Int32], context: Int, bos: Int32?,
                               base: KVStorage, test: KVStorage, batchSize: Int = 512, maxChunks: Int? = nil,
                               progress: (DistributionComparison) -> Void = { _ in }) throws -> DistributionComparison {
        guard context >= 4 else { throw ModelError.invalidHyperparameter("perplexity context \(context) is too small") }
        let available = tokens.count / context
        guard available >= 1 else { throw ModelError.promptTooLong(tokens: tokens.count, context: context) }
        let first = context / 2
        var result = DistributionComparison()
        for c in 0..<min(available, maxChunks ?? available) {
            let hb = try scoredHiddenStates(model: model, tokens: tokens, chunk: c, context: context, bos: bos, kv: base,
                                            batchSize: batchSize)
            let ht = try scoredHiddenStates(model: model, tokens: tokens, chunk: c, context: context, bos: bos, kv: test,
                                            batchSize: batchSize)
            let start = c * context
            compareChunk(model: model, base: hb, test: ht, targets: tokens[(start + first + 1)..<(start + context)],
                         into: &result)
            for r in [\DistributionComparison.base, \.test] {
                result[keyPath: r].scoredTokens += context - 1 - first
                result[keyPath: r].chunks += 1
                result[keyPath: r].estimates.append(result[keyPath: r].perplexity)
            }
            progress(result)
        }
        return result
    }

    private static func compareChunk(model: Transformer, base: [Float], test: [Float], targets: ArraySlice<Int32>,
                                     into result: inout DistributionComparison) {
        let vocab = model.hyperparameters.vocabularySize, d = model.hyperparameters.embeddingLength
        let rowsPerPass = 32
        var lb = [Float](repeating: 0, count: rowsPerPass * vocab), lt = lb
        var r = 0
        while r < targets.count {
            let n = min(rowsPerPass, targets.count - r)
            base.withUnsafeBufferPointer { h in lb.withUnsafeMutableBufferPointer { model.logits(hidden: h.baseAddress! + r * d, rows: n, into: $0.baseAddress!) } }
            test.withUnsafeBufferPointer { h in lt.withUnsafeMutableBufferPointer { model.logits(hidden: h.baseAddress! + r * d, rows: n, into: $0.baseAddress!) } }
            for j in 0..<n {
                let target = Int(targets[targets.startIndex + r + j])
                lb.withUnsafeBufferPointer { b in
                    lt.withUnsafeBufferPointer { t in
                        let row = j * vocab
                        let p = UnsafeBufferPointer(rebasing: b[row..<(row + vocab)])
                        let q = UnsafeBufferPointer(rebasing: t[row..<(row + vocab)])
                        let (kl, sameTop, nllP, nllQ) = divergence(p, q, target: target)
                        result.divergences.append(kl)
                        if sameTop { result.sameTopToken += 1 }
                        result.base.negativeLogLikelihood += nllP
                        result.test.negativeLogLikelihood += nllQ
                    }
                }
            }
            r += n
        }
    }

    /// KL(softmax(p) ‖ softmax(q)), whether both logits rank the same token first, and the
    /// negative log-likelihood of `target` under each.
    static func divergence(_ p: UnsafeBufferPointer<Float>, _ q: UnsafeBufferPointer<Float>,
                           target: Int) -> (Double, Bool, Double, Double) {
        var mp = -Float.infinity, mq = -Float.infinity, ip = 0, iq = 0
        for i in 0..<p.count {
            if p[i] > mp { mp = p[i]; ip = i }
            if q[i] > mq { mq = q[i]; iq = i }
        }
        var sp = 0.0, sq = 0.0
        for i in 0..<p.count {
            sp += Double(expf(p[i] - mp))
            sq += Double(expf(q[i] - mq))
        }
        let lzp = log(sp), lzq = log(sq)
        var kl = 0.0
        for i in 0..<p.count {
            let lp = Double(p[i] - mp) - lzp, lq = Double(q[i] - mq) - lzq
            kl += exp(lp) * (lp - lq)
        }
        let nllP = -(Double(p[target] - mp) - lzp), nllQ = -(Double(q[target] - mq) - lzq)
        return (max(kl, 0), ip == iq, nllP, nllQ)
    }
}
