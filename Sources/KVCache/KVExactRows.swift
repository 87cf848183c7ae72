/// The first few tokens' key and value rows kept as f16 beside their 4-bit rows (`q4` with
/// `Q4Layout.exactTokens > 0`).
///
/// The first tokens are attention sinks: most queries put much of their weight on them, so an
/// error in their keys moves every softmax and an error in their values every output. Kept
/// exactly they cost 16 bits x `tokens` per element of a layer, a sliver at any useful length.
/// Rows are stored as the cache transforms them (centered, balanced, rotated), so attention
/// scores them with the same query as the 4-bit rows.
public final class KVExactRows: @unchecked Sendable {
    /// Per layer, how many first tokens are kept.
    public let tokens: [Int]
    let keyWidths: [Int]
    let valueWidths: [Int]
    let keys: [UnsafeMutablePointer<Float16>]
    let values: [UnsafeMutablePointer<Float16>]

    init(tokens: [Int], layers: [KVLayerShape]) {
        let kw = layers.map { $0.kvHeads * $0.keyLength }, vw = layers.map { $0.kvHeads * $0.valueLength }
        func zeros(_ n: Int) -> UnsafeMutablePointer<Float16> {
            let p = UnsafeMutablePointer<Float16>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        self.tokens = tokens
        keyWidths = kw
        valueWidths = vw
        keys = zip(kw, tokens).map { zeros($0 * $1) }
        values = zip(vw, tokens).map { zeros($0 * $1) }
    }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
    }

    /// Token `t`'s keys (all KV heads) in `layer`.
    @inline(__always) public func key(layer: Int, token t: Int) -> UnsafeMutablePointer<Float16> { keys[layer] + t * keyWidths[layer] }
    /// Token `t`'s values (all KV heads) in `layer`.
    @inline(__always) public func value(layer: Int, token t: Int) -> UnsafeMutablePointer<Float16> {
        values[layer] + t * valueWidths[layer]
    }

    func copy() -> KVExactRows {
        let c = KVExactRows(tokens: tokens, layers: zip(keyWidths, valueWidths).map { KVLayerShape(kvHeads: 1, keyLength: $0, valueLength: $1) })
        for l in keys.indices {
            c.keys[l].update(from: keys[l], count: tokens[l] * keyWidths[l])
            c.values[l].update(from: values[l], count: tokens[l] * valueWidths[l])
        }
        return c
    }
}
