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

    public init(keys: [Float], values: [Float]) {
        self.keys = keys
        self.values = values
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
    public func calibrate(layer: Int, keys: UnsafePointer<Float>, keyStride: Int,
                          values: UnsafePointer<Float>, valueStride: Int, rows: Int) {
        guard needsCalibration(layer: layer) else { return }
        let shape = layers[layer].shape
        let kw = shape.kvHeads * shape.keyLength, vw = shape.kvHeads * shape.valueLength
        var k = [Double](repeating: 0, count: kw), v = [Double](repeating: 0, count: vw)
        var used = 0
        for i in 0..<rows {
            let (block, s) = slot(layer: layer, token: count + i)
            if block.positions[s] == 0 { continue }
            for j in 0..<kw { k[j] += Double(keys[i * keyStride + j]) }
            for j in 0..<vw { v[j] += Double(values[i * valueStride + j]) }
            used += 1
        }
        let scale = used == 0 ? 0 : 1 / Double(used)
        rowOffsets[layer] = KVRowOffsets(keys: k.map { Float($0 * scale) }, values: v.map { Float($0 * scale) })
    }
}

extension KVCacheConfiguration {
    /// True bits per cached element (keys and values) of a sequence of `tokens` tokens: the
    /// row formats with their block scales, plus each layer's centering offsets (f32) spread
    /// over the rows it holds (a sliding layer holds at most its window).
    public func bitsPerElement(tokens: Int) -> Double {
        var bits = 0.0, elements = 0.0
        for s in layers {
            let kept = Double(min(tokens, s.window ?? tokens))
            let k = Double(s.kvHeads * s.keyLength), v = Double(s.kvHeads * s.valueLength)
            bits += kept * (k * storage.key.bitsPerElement + v * storage.value.bitsPerElement)
            if storage.key.centers { bits += 32 * k }
            if storage.value.centers { bits += 32 * v }
            elements += kept * (k + v)
        }
        return elements == 0 ? 0 : bits / elements
    }
}
