/// Removing tokens from the middle of a cache (KV compression).
///
/// The cache has one token index shared by all layers, so a compaction keeps the same tokens in
/// every layer, sliding-window layers included: a policy chooses tokens, not per-layer rows.
/// Kept tokens keep their original positions (as StreamingLLM and H2O do), so attention, which
/// masks by stored position, sees exactly the kept keys at their old distances.
extension SequenceKVCache {
    /// Position given to the unused slots at the start of a compacted sliding layer's first
    /// block: so far before any query that every window masks it (and far enough from
    /// `Int32.min` that `query - key` cannot overflow).
    public static let maskedPosition: Int32 = -(1 << 30)

    /// Keeps only the tokens at `kept` (ascending, distinct indices below `count`), moving their
    /// keys, values and positions into fresh blocks, so memory drops to what the kept tokens
    /// need (whole blocks). Blocks shared with a fork are never written: the sibling keeps its
    /// data. `nextPosition` is unchanged: the next token continues after the last original one.
    public func compact(keeping kept: [Int]) {
        precondition(pending == 0, "compact between batches")
        precondition(zip(kept, kept.dropFirst()).allSatisfy { $0 < $1 } && (kept.last ?? -1) < count && (kept.first ?? 0) >= 0,
                     "kept tokens must be ascending, distinct and stored")
        if kept.count == count { return }
        let bt = configuration.blockTokens
        let newCount = kept.count
        for l in layers.indices {
            let first = layers[l].firstStoredToken(blockTokens: bt)
            // The kept tokens this layer still stores are a suffix of `kept`: new indices start..<newCount.
            let start = kept.firstIndex { $0 >= first } ?? newCount
            var layer = KVLayer(shape: layers[l].shape)
            layer.firstBlock = start / bt
            let kRow = configuration.keyRowBytes(layer: l), vRow = configuration.valueRowBytes(layer: l)
            layer.ensure(tokens: newCount, blockTokens: bt) { KVBlock(capacity: bt, keyRowBytes: kRow, valueRowBytes: vRow) }
            for t in (layer.firstBlock * bt)..<newCount {
                let dst = layer.blocks[t / bt - layer.firstBlock], d = t % bt
                if t < start {
                    // Evicted from this sliding layer before the compaction: a masked slot.
                    dst.key(d).initializeMemory(as: UInt8.self, repeating: 0, count: kRow)
                    dst.value(d).initializeMemory(as: UInt8.self, repeating: 0, count: vRow)
                    dst.positions[d] = Self.maskedPosition
                    continue
                }
                let (src, s) = slot(layer: l, token: kept[t])
                dst.key(d).copyMemory(from: src.key(s), byteCount: kRow)
                dst.value(d).copyMemory(from: src.value(s), byteCount: vRow)
                dst.positions[d] = src.positions[s]
            }
            layers[l] = layer
        }
        if let exactRows { keepExactRows(exactRows, kept: kept) }
        count = newCount
        attentionStatistics?.compact(keeping: kept)
    }

    /// Moves exactly kept rows with their tokens: new token `t` below `exactRows.tokens[layer]` keeps its
    /// exact rows if it had them, else takes its 4-bit rows' values (it was never a sink).
    private func keepExactRows(_ exact: KVExactRows, kept: [Int]) {
        let layout = Q4Layout.current
        for t in 0..<kept.count {
            for l in layers.indices where t < exact.tokens[l] {
                let shape = layers[l].shape
                let kw = shape.kvHeads * shape.keyLength, vw = shape.kvHeads * shape.valueLength
                if kept[t] < exact.tokens[l] {
                    exact.key(layer: l, token: t).update(from: exact.key(layer: l, token: kept[t]), count: kw)
                    exact.value(layer: l, token: t).update(from: exact.value(layer: l, token: kept[t]), count: vw)
                    continue
                }
                guard t >= layers[l].firstStoredToken(blockTokens: configuration.blockTokens) else { continue }
                let (block, s) = slot(layer: l, token: t)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(kw, vw)) { buf in
                    let f = buf.baseAddress!
                    for g in 0..<shape.kvHeads {
                        layout.keys.dequantize(block.key(s) + g * layout.keys.rowBytes(shape.keyLength), count: shape.keyLength,
                                               into: f + g * shape.keyLength)
                    }
                    for j in 0..<kw { exact.key(layer: l, token: t)[j] = Float16(f[j]) }
                    for g in 0..<shape.kvHeads {
                        layout.values.dequantize(block.value(s) + g * layout.values.rowBytes(shape.valueLength),
                                                 count: shape.valueLength, into: f + g * shape.valueLength)
                    }
                    for j in 0..<vw { exact.value(layer: l, token: t)[j] = Float16(f[j]) }
                }
            }
        }
    }

    /// Compresses the cache to at most `budget` tokens with `policy` (nothing happens when it
    /// already holds no more). Returns the kept tokens' former indices.
    @discardableResult
    public func compress(with policy: any KVCompressionPolicy, budget: Int) -> [Int] {
        guard count > budget else { return Array(0..<count) }
        let kept = policy.select(from: 0..<count, budget: max(0, budget), cache: self)
        compact(keeping: kept)
        return kept
    }
}
