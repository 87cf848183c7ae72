/// H2O (Zhang et al., 2023): the most recent tokens plus the "heavy hitters", the tokens with
/// the most attention mass accumulated over every query so far (summed over layers and heads,
/// since our cache keeps or drops a token in all of them together).
public struct HeavyHitterPolicy: KVCompressionPolicy {
    /// Share of the budget that goes to the most recent tokens (H2O splits it evenly).
    public var recentFraction: Double
    public init(recentFraction: Double = 0.5) { self.recentFraction = recentFraction }
    public var description: String { "h2o(recent: \(recentFraction))" }
    public var statisticsNeeded: AttentionStatistics.Needs { .init(accumulated: true) }

    public func select(from candidates: Range<Int>, budget: Int, cache: SequenceKVCache) -> [Int] {
        guard candidates.count > budget else { return Array(candidates) }
        let recent = min(budget, Int((Double(budget) * recentFraction).rounded()))
        let older = candidates.lowerBound..<(candidates.upperBound - recent)
        let scores = tokenScores(cache: cache) { $0.accumulated(layer: $1) }
        let heavy = topTokens(older, count: budget - recent) { scores[$0] }
        return (heavy + Array(older.upperBound..<candidates.upperBound)).sorted()
    }
}

/// SnapKV (Li et al., 2024): each head's attention from the last `observationWindow` queries,
/// max-pooled over neighbouring keys (`kernelSize`), votes for its top keys; tokens are ranked by
/// the votes of all heads of all layers (ties by pooled mass), and the observation window itself
/// is always kept.
public struct SnapKVPolicy: KVCompressionPolicy {
    public var observationWindow: Int
    public var kernelSize: Int
    public init(observationWindow: Int = 32, kernelSize: Int = 7) {
        self.observationWindow = observationWindow
        self.kernelSize = kernelSize
    }
    public var description: String { "snapkv(window: \(observationWindow), kernel: \(kernelSize))" }
    public var statisticsNeeded: AttentionStatistics.Needs { .init(observationWindow: observationWindow) }

    public func select(from candidates: Range<Int>, budget: Int, cache: SequenceKVCache) -> [Int] {
        guard candidates.count > budget else { return Array(candidates) }
        let window = min(budget, observationWindow)
        let older = candidates.lowerBound..<(candidates.upperBound - window)
        let picks = budget - window
        var votes = [Double](repeating: 0, count: cache.count)
        guard let stats = cache.attentionStatistics, picks > 0 else {
            return Array(older.prefix(picks)) + Array(older.upperBound..<candidates.upperBound)
        }
        for l in cache.layers.indices {
            guard let (mass, stride) = stats.observed(layer: l) else { continue }
            for h in 0..<stats.heads {
                let pooled = maxPooled(mass, from: h * stride, older)
                let top = topTokens(older, count: picks) { pooled[$0 - older.lowerBound] }
                // A vote counts 1; the pooled mass (< 1 summed over the window's queries / window) breaks ties.
                for t in top { votes[t] += 1 + Double(pooled[t - older.lowerBound]) / Double(observationWindow + 1) }
            }
        }
        let chosen = topTokens(older, count: picks) { votes[$0] }
        return (chosen + Array(older.upperBound..<candidates.upperBound)).sorted()
    }

    private func maxPooled(_ mass: [Float], from base: Int, _ range: Range<Int>) -> [Float] {
        let r = kernelSize / 2
        return range.map { t in
            var m: Float = 0
            for u in max(range.lowerBound, t - r)..<min(range.upperBound, t + r + 1) { m = max(m, mass[base + u]) }
            return m
        }
    }
}

/// Attention mass per token, summed over heads and layers (zeros without statistics).
func tokenScores(cache: SequenceKVCache, _ pick: (AttentionStatistics, Int) -> (values: [Float], stride: Int)?) -> [Double] {
    var scores = [Double](repeating: 0, count: cache.count)
    guard let stats = cache.attentionStatistics else { return scores }
    for l in cache.layers.indices {
        guard let (mass, stride) = pick(stats, l) else { continue }
        for h in 0..<stats.heads { for t in 0..<cache.count { scores[t] += Double(mass[h * stride + t]) } }
    }
    return scores
}

/// The `count` tokens of `range` with the highest scores (earlier tokens win ties), ascending.
func topTokens<S: Comparable>(_ range: Range<Int>, count: Int, score: (Int) -> S) -> [Int] {
    guard count < range.count else { return Array(range) }
    guard count > 0 else { return [] }
    let ranked = range.sorted { a, b in
        let sa = score(a), sb = score(b)
        return sa != sb ? sa > sb : a < b
    }
    return ranked.prefix(count).sorted()
}
