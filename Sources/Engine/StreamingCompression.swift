import KVCache

/// How a sequence is compressed while it streams through the model (StreamingLLM's
/// evaluation): tokens run in batches of `step`, and before each batch, if the cache could then
/// hold more than `budget` tokens, `policy` compresses it to `budget - step` (the batch's size),
/// so no query ever attends to more than `budget` keys. `step` 1 is the token-by-token setting
/// of the papers; larger steps trade that exactness for speed.
public struct StreamingCompression: Sendable {
    public var policy: any KVCompressionPolicy
    public var budget: Int
    public var step: Int

    public init(policy: any KVCompressionPolicy, budget: Int, step: Int = 32) {
        self.policy = policy
        self.budget = budget
        self.step = step
    }

    /// A budget of `keep` (0...1) of `context` tokens.
    public init(policy: any KVCompressionPolicy, keep: Double, context: Int, step: Int = 32) {
        self.init(policy: policy, budget: Int((keep * Double(context)).rounded()), step: step)
    }

    /// Gives `cache` the attention statistics the policy needs (none: the fast path).
    public func attachStatistics(to cache: SequenceKVCache) {
        cache.attentionStatistics = AttentionStatistics.gathering(for: policy)
    }

    /// Compresses `cache` so that `tokens` more fit within the budget.
    public func makeRoom(for tokens: Int, in cache: SequenceKVCache) {
        if cache.count + tokens > budget { cache.compress(with: policy, budget: budget - tokens) }
    }
}
