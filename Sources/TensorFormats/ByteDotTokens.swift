#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Four tokens of a batch through `ByteDot` at once: each weight block is unpacked once and
/// multiplied with the four tokens' activations, and every token's arithmetic is the
/// single-token kernel's, operation for operation (so the floats are llama.cpp's still). A
/// prefill batch token by token otherwise unpacks every block once per token.
extension ByteDot {
    public typealias Blocks4 = (ActivationBlocks, ActivationBlocks, ActivationBlocks, ActivationBlocks)

    /// Whether `rows4` has a kernel for `type` (the 32-element block types).
    public static func supportsFour(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q8_0: true
        default: false
        }
    }

    /// `rows` for four tokens: their activations are `xStride` bytes apart, their outputs
    /// `yTokenStride` floats apart (rows `yStride` apart within a token).
    public static func rows4(_ type: GGMLType, base: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, cols: Int,
                             x: UnsafePointer<Int8>, xStride: Int, blocks: Blocks4,
                             y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int) {
        @inline(__always) func run(_ kernel: (UnsafeRawPointer, Int) -> SIMD4<Float>) {
            for r in rows {
                let v = kernel(base + r * rowBytes, cols / 32)
                for t in 0..<4 { y[t * yTokenStride + r * yStride] = v[t] }
            }
        }
        switch type {
        case .q4_0: run { q4_0x4($0, $1, x, xStride, blocks) }
        case .q4_1: run { q4_1x4($0, $1, x, xStride, blocks) }
        case .q5_0: run { q5_0x4($0, $1, x, xStride, blocks) }
        case .q8_0: run { q8_0x4($0, $1, x, xStride, blocks) }
        default: preconditionFailure("no four-token byte kernel for \(type)")
        }
    }

    /// Four accumulators, one per token.
    private struct Acc4 {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()

        /// Token t's integer lanes `sums.t` scaled by `d` times its activation scale of block `b`.
        @inline(__always) mutating func add(_ s: (Bytes, Bytes, Bytes, Bytes), _ d: Float, _ a: Blocks4, _ b: Int) {
            ByteDot.add(&a0, s.0, d * a.0.scales[b])
            ByteDot.add(&a1, s.1, d * a.1.scales[b])
            ByteDot.add(&a2, s.2, d * a.2.scales[b])
            ByteDot.add(&a3, s.3, d * a.3.scales[b])
        }

        @inline(__always) var totals: SIMD4<Float> {
            SIMD4(ByteDot.total(a0), ByteDot.total(a1), ByteDot.total(a2), ByteDot.total(a3))
        }
    }

    /// `f` applied to each token's activations.
    @inline(__always) private static func each(_ x: UnsafePointer<Int8>, _ xs: Int,
                                               _ f: (UnsafePointer<Int8>) -> Bytes) -> (Bytes, Bytes, Bytes, Bytes) {
        (f(x), f(x + xs), f(x + 2 &* xs), f(x + 3 &* xs))
    }

    @inline(__always) private static func q4_0x4(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                                  _ xs: Int, _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc4()
        let eight = _mm256_set1_epi8(8)
        for b in 0..<blocks {
            let blk = w + 18 &* b
            let u = nibbles(blk + 2)
            acc.add(each(x, xs) { _mm256_sub_epi32(products(u, $0, b), products(eight, $0, b)) }, scale(blk, 0), a, b)
        }
        return acc.totals
    }

    @inline(__always) private static func q4_1x4(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                                  _ xs: Int, _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc4()
        var minimum = SIMD4<Float>()
        for b in 0..<blocks {
            let blk = w + 20 &* b
            let u = nibbles(blk + 4)
            acc.add(each(x, xs) { products(u, $0, b) }, scale(blk, 0), a, b)
            let sums = SIMD4(a.0.scaledSums[b], a.1.scaledSums[b], a.2.scaledSums[b], a.3.scaledSums[b])
            minimum = minimum.addingProduct(SIMD4(repeating: scale(blk, 2)), sums)
        }
        return acc.totals + minimum
    }

    @inline(__always) private static func q5_0x4(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                                  _ xs: Int, _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc4()
        let sixteen = _mm256_set1_epi8(0x10)
        for b in 0..<blocks {
            let blk = w + 22 &* b
            let u = q5Bytes(blk)
            acc.add(each(x, xs) { _mm256_sub_epi32(products(u, $0, b), products(sixteen, $0, b)) }, scale(blk, 0), a, b)
        }
        return acc.totals
    }

    @inline(__always) private static func q8_0x4(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                                  _ xs: Int, _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc4()
        let ones = _mm256_set1_epi16(1)
        for b in 0..<blocks {
            let blk = w + 34 &* b
            let q = blk.loadUnaligned(fromByteOffset: 2, as: Bytes.self)
            let magnitude = _mm256_abs_epi8(q)
            acc.add(each(x, xs) { xt in
                let act = UnsafeRawPointer(xt + 32 &* b).loadUnaligned(as: Bytes.self)
                return _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(act, q)), ones)
            }, scale(blk, 0), a, b)
        }
        return acc.totals
    }
}
#endif
