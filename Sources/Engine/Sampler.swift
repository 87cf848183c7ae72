import Foundation

/// How the next token is chosen from the logits.
///
/// The order of operations is llama.cpp's default sampler chain: repetition and presence
/// penalties, top-k, top-p, min-p, temperature, then a draw from the distribution. A
/// temperature of 0 (or less) is greedy decoding: the arg-max after penalties.
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float = 0.8
    /// Keep the `topK` most likely tokens (0: all).
    public var topK: Int = 40
    /// Keep the smallest set of tokens whose probability sums to at least `topP` (1: all).
    public var topP: Float = 0.95
    /// Drop tokens less likely than `minP` times the most likely one (0: none).
    public var minP: Float = 0.05
    /// Divide positive logits (multiply negative ones) of recently seen tokens by this (1: off).
    public var repetitionPenalty: Float = 1
    /// Subtract this from the logits of recently seen tokens (0: off).
    public var presencePenalty: Float = 0
    /// How many of the most recent tokens the penalties look at.
    public var penaltyWindow: Int = 64
    /// Seed of the random draws: the same seed, prompt and parameters give the same output.
    public var seed: UInt64?

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repetitionPenalty: Float = 1, presencePenalty: Float = 0, penaltyWindow: Int = 64,
                seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.penaltyWindow = penaltyWindow
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters(temperature: 0)
}

/// SplitMix64: a small, fast, seedable generator, so sampling is reproducible across runs and
/// platforms (the system generator is neither seedable nor stable).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Chooses tokens from logits with `SamplingParameters`, keeping its random state.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SplitMix64
    private var candidates: [(id: Int32, logit: Float)] = []

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// Picks the next token. `logits` may be modified (penalties are applied in place);
    /// `history` is the sequence so far (prompt and generated tokens).
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) -> Int32 {
        let p = parameters
        applyPenalties(logits, history: history)
        if p.temperature <= 0 { return argmax(logits) }

        // Top-k (a bounded selection; the full vocabulary is only sorted when k is off).
        let k = p.topK > 0 ? min(p.topK, logits.count) : logits.count
        candidates.removeAll(keepingCapacity: true)
        if k == logits.count {
            for (i, l) in logits.enumerated() { candidates.append((Int32(i), l)) }
            candidates.sort { $0.logit > $1.logit }
        } else {
            selectTop(k, logits)
        }
        // Softmax over the candidates (at temperature 1, as llama.cpp's top-p/min-p see it).
        let maxLogit = candidates[0].logit
        var probs = candidates.map { expf($0.logit - maxLogit) }
        var total = probs.reduce(0, +)
        // Top-p.
        if p.topP < 1 {
            var cum: Float = 0
            var keep = candidates.count
            for i in 0..<probs.count {
                cum += probs[i] / total
                if cum >= p.topP { keep = i + 1; break }
            }
            candidates.removeSubrange(keep...)
            probs.removeSubrange(keep...)
        }
        // Min-p, relative to the most likely token.
        if p.minP > 0 {
            let threshold = p.minP * probs[0]
            let keep = max(1, probs.firstIndex { $0 < threshold } ?? probs.count)
            candidates.removeSubrange(keep...)
            probs.removeSubrange(keep...)
        }
        // Temperature, then draw.
        let weights = candidates.map { expf(($0.logit - maxLogit) / p.temperature) }
        total = weights.reduce(0, +)
        var r = Float(Double(rng.next() >> 11) / Double(1 << 53)) * total
        for (i, w) in weights.enumerated() {
            r -= w
            if r <= 0 { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
    }

    private func applyPenalties(_ logits: UnsafeMutableBufferPointer<Float>, history: [Int32]) {
        let p = parameters
        guard p.repetitionPenalty != 1 || p.presencePenalty != 0, p.penaltyWindow != 0 else { return }
        let recent = p.penaltyWindow < 0 ? history[...] : history.suffix(p.penaltyWindow)
        for id in Set(recent) where id >= 0 && Int(id) < logits.count {
            var l = logits[Int(id)]
            if p.repetitionPenalty != 1 { l = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty }
            l -= p.presencePenalty
            logits[Int(id)] = l
        }
    }

    private mutating func selectTop(_ k: Int, _ logits: UnsafeMutableBufferPointer<Float>) {
        // Keep a sorted list of k; most logits fail the first comparison, so this is ~linear.
        for (i, l) in logits.enumerated() {
            if candidates.count == k && l <= candidates[k - 1].logit { continue }
            var j = candidates.count
            if j == k { candidates.removeLast(); j -= 1 }
            while j > 0 && candidates[j - 1].logit < l { j -= 1 }
            candidates.insert((Int32(i), l), at: j)
        }
    }
}

/// Index of the largest value (the first one on ties; NaN never wins; 0 when nothing beats
/// -inf). A greedy step of N agents over a 262,144-token vocabulary runs this N times on the
/// scheduler thread, so it goes eight lanes at a time: the maximum first (order-free), then the
/// first index holding it.
func argmax(_ x: UnsafeMutableBufferPointer<Float>) -> Int32 {
    let n = x.count
    guard let p = x.baseAddress, n >= 64 else { return argmaxScalar(UnsafeBufferPointer(x)) }
    var lanes = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        lanes = lanes.replacing(with: v, where: v .> lanes)
        i += 8
    }
    var top = -Float.infinity
    for l in 0..<8 where lanes[l] > top { top = lanes[l] }
    for j in i..<n where p[j] > top { top = p[j] }
    guard top > -.infinity else { return 0 }
    let wanted = SIMD8<Float>(repeating: top)
    i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        if any(v .== wanted) { break }
        i += 8
    }
    while p[i] != top { i += 1 }
    return Int32(i)
}

/// `argmax` one value at a time (the definition the vector version keeps).
func argmaxScalar(_ x: UnsafeBufferPointer<Float>) -> Int32 {
    var best = 0, bestValue = -Float.infinity
    for i in 0..<x.count where x[i] > bestValue {
        bestValue = x[i]
        best = i
    }
    return Int32(best)
}

/// The `k` most likely tokens with their log-probabilities under the full softmax.
public func topLogprobs(_ logits: UnsafeBufferPointer<Float>, k: Int) -> [TokenLogprob] {
    var maxLogit = -Float.infinity
    for l in logits { maxLogit = max(maxLogit, l) }
    var sum: Double = 0
    for l in logits { sum += Double(expf(l - maxLogit)) }
    let lse = Double(maxLogit) + log(sum)
    var best: [(Int, Float)] = []
    for (i, l) in logits.enumerated() where best.count < k || l > best[best.count - 1].1 {
        var j = best.count
        if j == k { best.removeLast(); j -= 1 }
        while j > 0 && best[j - 1].1 < l { j -= 1 }
        best.insert((i, l), at: j)
    }
    return best.map { TokenLogprob(id: Int32($0.0), logprob: Float(Double($0.1) - lse)) }
}

/// A token id with its log-probability.
public struct TokenLogprob: Sendable, Equatable, Codable {
    public var id: Int32
    public var logprob: Float
    public init(id: Int32, logprob: Float) {
        self.id = id
        self.logprob = logprob
    }
}
