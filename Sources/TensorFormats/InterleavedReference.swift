/// What the interleaved kernels (`VNNIInterleaved` on AVX-512 VNNI, `InterleavedAVX2` on the
/// AVX2 baseline) compute for one row and one token, spelled out in plain arithmetic: their
/// definition, for tests. Both kernel sets give these floats exactly. Compiled for the
/// baseline, so tests on a CPU without AVX-512 can run it.
public enum InterleavedReference {
    /// The 32-element formats: `quants` are the row's values (q, not offset), `d` and `m` its
    /// blocks' scales and minimums (m nil: none); `x` the token's quants, `scales` and
    /// `scaledSums` its blocks'.
    public static func reference(quants: [Int32], d: [Float], m: [Float]?, x: [Int8], scales: [Float],
                                 scaledSums: [Float]) -> Float {
        var acc: Float = 0, minimums: Float = 0
        for b in 0..<d.count {
            var sum: Int32 = 0
            for e in 0..<32 { sum &+= quants[32 * b + e] &* Int32(x[32 * b + e]) }
            let product = d[b] * scales[b]
            acc = acc.addingProduct(Float(sum), product)
            if let m { minimums = minimums.addingProduct(m[b], scaledSums[b]) }
        }
        return m == nil ? acc : acc + minimums
    }

    /// Q4_K: `quants` the row's 4-bit values,
    /// `scales`/`mins` its sub-blocks' 6-bit ones, `d`/`dmin` its super-blocks'; `x` the
    /// token's quants, `xScales` its super-blocks' scales, `xSums` its 32-element sums.
    public static func referenceQ4K(quants: [Int32], scales: [Int32], mins: [Int32], d: [Float], dmin: [Float],
                                    x: [Int8], xScales: [Float], xSums: [Int32]) -> Float {
        var acc: Float = 0, minimums: Float = 0
        for b in 0..<d.count {
            var s: Int32 = 0, m: Int32 = 0
            for j in 0..<8 {
                var sum: Int32 = 0
                for e in 0..<32 { sum &+= quants[256 * b + 32 * j + e] &* Int32(x[256 * b + 32 * j + e]) }
                s &+= scales[8 * b + j] &* sum
                m &+= mins[8 * b + j] &* xSums[8 * b + j]
            }
            let ds = d[b] * xScales[b], ms = dmin[b] * xScales[b]
            acc = acc.addingProduct(Float(s), ds)
            minimums = minimums.addingProduct(Float(m), ms)
        }
        return acc - minimums
    }

    /// Q6_K: `quants` the row's values
    /// (u - 32), `scales` its 16-element sub-blocks' scales, `d` its super-blocks'; `x` the
    /// token's quants and `xScales` its super-blocks' scales.
    public static func referenceQ6K(quants: [Int32], scales: [Int32], d: [Float], x: [Int8], xScales: [Float]) -> Float {
        var acc: Float = 0
        for b in 0..<d.count {
            var s: Int32 = 0
            for j in 0..<16 {
                var sum: Int32 = 0
                for e in 0..<16 { sum &+= quants[256 * b + 16 * j + e] &* Int32(x[256 * b + 16 * j + e]) }
                s &+= scales[16 * b + j] &* sum
            }
            acc = acc.addingProduct(Float(s), d[b] * xScales[b])
        }
        return acc
    }
}
