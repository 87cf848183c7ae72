import Foundation

/// Constant vectors subtracted from every stored key and value row of a layer before it is
/// quantized ("centering").
///
/// Keys of real models share a large common component (a few channels sit far from zero for
/// every token), so a 4-bit row spends most of its range on that constant rather than on what
/// tells keys apart. Subtracting one vector `μ` from every key changes each score of a query
/// `q` by the same `q·μ`, which softmax ignores; subtracting `ν` from every value changes the
/// attention output by exactly `-ν` (the weights sum to one), which attention adds back. So
/// centering is exact for any vector, and the mean of the first batch makes it useful.
public struct KVRowOffsets: Sendable, Equatable {
    /// `[kvHead][keyLength]`
    public var keys: [Float]
    /// `[kvHead][valueLength]`
    public var values: [Float]
    /// `[kvHead][keyLength]` (empty: none): centered keys are divided by these before they are
    /// rotated and quantized, and queries multiplied by them, which leaves every score as it was.
    /// Chosen per channel as `(K/Q)^(1/4)` (K, Q: the mean squares of the channel's centered
    /// keys and of its queries), they minimise the expected score error of 4-bit keys: channels
    /// whose keys are large but whose queries are small get fewer of the group's levels.
    public var keyScales: [Float]

    public init(keys: [Float], values: [Float], keyScales: [Float] = []) {
        self.keys = keys
        self.values = values
        self.keyScales = keyScales
    }
}

extension SequenceKVCache {
    /// Whether the batch being written to `layer` must first go through `calibrate`: the
    /// storage centers rows and the layer holds no rows yet, so its offsets are still free.
    public func needsCalibration(layer: Int) -> Bool {
        configuration.storage.centers && count == 0
    }

    /// Sets `layer`'s offsets to the means of the pending batch's first `rows` keys and values
    /// (`[row][kvHead][length]`), leaving out the rows at position 0: the first token is an
    /// attention sink whose key is unlike the others. With no other row the offsets are zero.
    /// A layer whose keys are centered span by span gets their pre-RoPE mean (`KeyCentring`).
    /// With `queries` (`[row][head][keyLength]`, `heads` query heads) and a layout that
    /// balances keys, also sets the key scales. Offsets and scales are rounded to f16 values.
    public func calibrate(layer: Int, keys: UnsafePointer<Float>, keyStride: Int,
                          values: UnsafePointer<Float>, valueStride: Int, rows: Int,
                          queries: UnsafePointer<Float>? = nil, queryStride: Int = 0, heads: Int = 0) {
        guard needsCalibration(layer: layer) else { return }
        let shape = layers[layer].shape
        let kw = shape.kvHeads * shape.keyLength, vw = shape.kvHeads * shape.valueLength
        var k = [Double](repeating: 0, count: kw), v = [Double](repeating: 0, count: vw)
        var used: [Int] = [], positions: [Int32] = []
        for i in 0..<rows {
            let (block, s) = slot(layer: layer, token: count + i)
            if block.positions[s] == 0 { continue }
            for j in 0..<kw { k[j] += Double(keys[i * keyStride + j]) }
            for j in 0..<vw { v[j] += Double(values[i * valueStride + j]) }
            used.append(i)
            positions.append(block.positions[s])
        }
        let scale = used.isEmpty ? 0 : 1 / Double(used.count)
        func half(_ x: Double) -> Float { Float(Float16(Float(x))) }
        let centring = keyCentrings[layer]
        let keyMean = centring?.mean(keys: keys, stride: keyStride, rows: used, positions: positions,
                                     heads: shape.kvHeads, keyLength: shape.keyLength) ?? k.map { $0 * scale }
        var offsets = KVRowOffsets(keys: keyMean.map(half), values: v.map { half($0 * scale) })
        // Each used row's key less its offset: what the 4-bit rows will hold before balancing.
        var centered = [Float](repeating: 0, count: used.count * kw)
        offsets.keys.withUnsafeBufferPointer { mean in
            var offset = Array(mean)
            for (n, (i, p)) in zip(used, positions).enumerated() {
                if let centring {
                    offset.withUnsafeMutableBufferPointer { o in
                        centring.offset(mean: mean.baseAddress!, heads: shape.kvHeads, keyLength: shape.keyLength,
                                        position: p, into: o.baseAddress!)
                    }
                }
                for j in 0..<kw { centered[n * kw + j] = keys[i * keyStride + j] - offset[j] }
            }
        }
        if let queries, let exponents = Q4Layout.current.balance, used.count >= 8 {
            let (a, b) = exponents
            let kl = shape.keyLength, group = heads / shape.kvHeads
            var kk = [Double](repeating: 0, count: kw), qq = [Double](repeating: 0, count: kw)
            for (n, i) in used.enumerated() {
                for j in 0..<kw {
                    let c = Double(centered[n * kw + j])
                    kk[j] += c * c
                }
                for h in 0..<heads {
                    for d in 0..<kl {
                        let x = Double(queries[i * queryStride + h * kl + d])
                        qq[(h / group) * kl + d] += x * x
                    }
                }
            }
            let kFloor = kk.reduce(0, +) / Double(kw) * 1e-4, qFloor = qq.reduce(0, +) / Double(kw) * 1e-4
            var d = (0..<kw).map { j in pow(kk[j] + kFloor, Double(a)) / pow(qq[j] + qFloor, Double(b)) }
            let rms = (d.map { $0 * $0 }.reduce(0, +) / Double(kw)).squareRoot()
            if rms.isFinite && rms > 0 {
                d = d.map { $0 / rms }
                offsets.keyScales = d.map { half($0) }
            }
        }
        rowOffsets[layer] = offsets
    }
}

extension KVCacheConfiguration {
    /// True bits per cached element (keys and values) of a sequence of `tokens` tokens: the
    /// row formats with their block scales, plus each layer's centering offsets and key scales
    /// (f16 values) and exactly kept tokens (f16) spread over the rows it holds (a sliding
    /// layer holds at most its window).
    public func bitsPerElement(tokens: Int) -> Double {
        var bits = 0.0, elements = 0.0
        let q4 = storage.key == .q4 ? Q4Layout.current : nil
        for s in layers {
            let kept = Double(min(tokens, s.window ?? tokens))
            let k = Double(s.kvHeads * s.keyLength), v = Double(s.kvHeads * s.valueLength)
            bits += kept * (k * storage.key.keyBitsPerElement + v * storage.value.valueBitsPerElement)
            if storage.key.centers { bits += 16 * k }
            if storage.value.centers { bits += 16 * v }
            if let q4 {
                if q4.balance != nil { bits += 16 * k }
                bits += 16 * Double(min(q4.exactTokens, tokens)) * (k + v)
            }
            elements += kept * (k + v)
        }
        return elements == 0 ? 0 : bits / elements
    }
}
