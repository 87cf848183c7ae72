/// A KV compression policy: which stored tokens survive when a cache must shrink to a budget.
///
/// It lives beside the cache (not in Engine) because all it needs is the cache and, for the
/// attention-based policies, the `AttentionStatistics` the model gathers into the cache; users
/// add their own by conforming a type to this protocol.
public protocol KVCompressionPolicy: Sendable, CustomStringConvertible {
    /// What the policy needs gathered while tokens run (`.none`: nothing, the fast path).
    var statisticsNeeded: AttentionStatistics.Needs { get }
    /// The tokens to keep among `candidates` (indices into `cache`): ascending, at most
    /// `budget` of them (all when there are no more than `budget`).
    func select(from candidates: Range<Int>, budget: Int, cache: SequenceKVCache) -> [Int]
}

extension KVCompressionPolicy {
    public var statisticsNeeded: AttentionStatistics.Needs { .none }
}

extension AttentionStatistics {
    /// Fresh statistics for what `policy` needs (nil when it needs none: the fast path).
    public static func gathering(for policy: any KVCompressionPolicy) -> AttentionStatistics? {
        policy.statisticsNeeded.isNone ? nil : AttentionStatistics(needs: policy.statisticsNeeded)
    }
}

/// Keeps everything (the baseline): a cache under `none` is never touched.
public struct NoCompression: KVCompressionPolicy {
    public init() {}
    public var description: String { "none" }
    public func select(from candidates: Range<Int>, budget: Int, cache: SequenceKVCache) -> [Int] { Array(candidates) }
}

/// StreamingLLM: the first `sinks` tokens (attention sinks) and the most recent ones. With
/// `sinks: 0` it is the plain sliding window that StreamingLLM shows collapsing.
public struct StreamingPolicy: KVCompressionPolicy {
    public var sinks: Int
    public init(sinks: Int = 4) { self.sinks = sinks }
    public var description: String { sinks == 0 ? "window" : "streaming(sinks: \(sinks))" }

    public func select(from candidates: Range<Int>, budget: Int, cache: SequenceKVCache) -> [Int] {
        guard candidates.count > budget else { return Array(candidates) }
        let s = min(sinks, budget)
        return Array(candidates.prefix(s)) + Array(candidates.suffix(budget - s))
    }
}

/// A seeded uniform sample of the tokens: the same seed and cache length give the same set.
public struct RandomPolicy: KVCompressionPolicy {
    public var seed: UInt64
    public init(seed: UInt64 = 0) { self.seed = seed }
    public var description: String { "random(seed: \(seed))" }

    public func select(from candidates: Range<Int>, budget: Int, cache: SequenceKVCache) -> [Int] {
        guard candidates.count > budget else { return Array(candidates) }
        // Each token gets a hash of (seed, cache length, index) as its random key; the lowest
        // `budget` keys are a uniform sample that needs no generator state.
        let salt = seed &+ UInt64(candidates.upperBound) &* 0x9E37_79B9_7F4A_7C15
        return topTokens(candidates, count: budget) { ~Self.mix(salt ^ UInt64($0) &* 0xD6E8_FEB8_6659_FD93) }
    }

    /// A 64-bit finalizer (Stafford's mix 13): nearby inputs give unrelated outputs.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// FlowKV's protection: `base` compresses only the tokens before the last turn; the last turn
/// (from `lastTurnStart`, or the last `lastTokens` tokens) is always kept whole.
public struct ProtectLastTurn: KVCompressionPolicy {
    public enum Boundary: Sendable { case index(Int), lastTokens(Int) }
    public var base: any KVCompressionPolicy
    public var boundary: Boundary

    public init(_ base: any KVCompressionPolicy, lastTurnStart: Int) { self.base = base; boundary = .index(lastTurnStart) }
    public init(_ base: any KVCompressionPolicy, lastTokens: Int) { self.base = base; boundary = .lastTokens(lastTokens) }

    public var description: String { "protect_last_turn(\(base))" }
    public var statisticsNeeded: AttentionStatistics.Needs { base.statisticsNeeded }

    public func select(from candidates: Range<Int>, budget: Int, cache: SequenceKVCache) -> [Int] {
        let split: Int
        switch boundary {
        case .index(let i): split = min(max(i, candidates.lowerBound), candidates.upperBound)
        case .lastTokens(let n): split = max(candidates.upperBound - n, candidates.lowerBound)
        }
        let protected = candidates.upperBound - split
        let older = base.select(from: candidates.lowerBound..<split, budget: max(0, budget - protected), cache: cache)
        return older + Array(split..<candidates.upperBound)
    }
}
