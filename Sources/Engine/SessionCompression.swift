import KVCache

/// KV compression of a session between turns (the experiment's policies).
extension Session {
    /// Starts gathering the attention statistics `policy` needs (H2O, SnapKV) for the tokens
    /// run from now on; call it before the tokens the policy should judge.
    public func gatherStatistics(for policy: any KVCompressionPolicy) {
        lock.withLock { cache.attentionStatistics = AttentionStatistics.gathering(for: policy) }
    }

    /// Compresses the cache to at most `budget` tokens with `policy`. `tokens` keeps the same
    /// tokens, so later turns (whose prompts extend `tokens`) append after the kept ones at
    /// positions continuing the original sequence. Returns the kept tokens' former indices.
    @discardableResult
    public func compress(with policy: any KVCompressionPolicy, budget: Int) -> [Int] {
        lock.withLock {
            let kept = cache.compress(with: policy, budget: budget)
            tokens = kept.map { tokens[$0] }
            return kept
        }
    }
}
