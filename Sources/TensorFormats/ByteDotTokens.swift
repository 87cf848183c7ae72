#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Four tokens of a batch through `ByteDot` at once: each weight block is unpacked once and
/// multiplied with the four tokens' activations, and every token's arithmetic is the
/// single-token kernel's, operation for operation (so the floats are llama.cpp's still). A
/// prefill batch token by token otherwise unpacks every block once per token.
extension ByteDot {
    /// Four tokens' per-block activation values.
    public typealias Blocks4 = (ActivationBlocks, ActivationBlocks, ActivationBlocks, ActivationBlocks)

    /// `rows` for four tokens `token..<token + 4` of a batch of `batch`: their activations are
    /// `xStride` bytes apart, their outputs `yTokenStride` floats apart (rows `yStride` apart
    /// within a token). `token` is a multiple of 4, so Q4_K's four are one of llama.cpp's GEMM
    /// groups. `blocks16` only matters for Q6_K.
    public static func rows4(_ type: GGMLType, base: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, cols: Int,
                             x: UnsafePointer<Int8>, xStride: Int, blocks: Blocks4, blocks16: Blocks4,
                             y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int, batch: Int) {
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
        case .q4_K: run { q4_Kx4($0, $1 / 8, x, xStride, blocks) }
        case .q6_K:
            if batch >= 8 {
                run { q6_Kx4($0, $1 / 8, x, xStride, blocks, blocks16, tiled: true) }
            } else {
                run { q6_Kx4($0, $1 / 8, x, xStride, blocks, blocks16, tiled: false) }
            }
        default: preconditionFailure("no byte kernel for \(type)")
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

        @inline(__always) mutating func add(_ s: (Bytes, Bytes, Bytes, Bytes), _ d: SIMD4<Float>) {
            ByteDot.add(&a0, s.0, d[0])
            ByteDot.add(&a1, s.1, d[1])
            ByteDot.add(&a2, s.2, d[2])
            ByteDot.add(&a3, s.3, d[3])
        }

        @inline(__always) var totals: SIMD4<Float> {
            SIMD4(ByteDot.total(a0), ByteDot.total(a1), ByteDot.total(a2), ByteDot.total(a3))
        }
    }

    /// Each token's integer lanes as floats, summed: the whole-block sums of `q4_K`/`q6_K`.
    @inline(__always) private static func lanes4(_ s: (Bytes, Bytes, Bytes, Bytes)) -> SIMD4<Float> {
        SIMD4(Float(lanes(s.0)), Float(lanes(s.1)), Float(lanes(s.2)), Float(lanes(s.3)))
    }

    @inline(__always) private static func add4(_ a: (Bytes, Bytes, Bytes, Bytes), _ b: (Bytes, Bytes, Bytes, Bytes))
        -> (Bytes, Bytes, Bytes, Bytes) {
        (_mm256_add_epi32(a.0, b.0), _mm256_add_epi32(a.1, b.1), _mm256_add_epi32(a.2, b.2), _mm256_add_epi32(a.3, b.3))
    }

    /// Token t's activation scale of 256-element block `sb`.
    @inline(__always) private static func scales(_ a: Blocks4, _ sb: Int) -> SIMD4<Float> {
        SIMD4(a.0.scales[8 &* sb], a.1.scales[8 &* sb], a.2.scales[8 &* sb], a.3.scales[8 &* sb])
    }

    /// `q4_K` with `pairwise` (llama.cpp's GEMM) for four tokens.
    @inline(__always) private static func q4_Kx4(_ w: UnsafeRawPointer, _ superBlocks: Int, _ x: UnsafePointer<Int8>,
                                                  _ xs: Int, _ a: Blocks4) -> SIMD4<Float> {
        var acc = SIMD4<Float>(), minimum = SIMD4<Float>()
        let mask = _mm256_set1_epi8(0x0F)
        for sb in 0..<superBlocks {
            let blk = w + 144 &* sb
            let (sc, mn) = q4KScales(blk)
            let da = scales(a, sb)
            let d = SIMD4(repeating: scale(blk, 0)) * da, dmin = SIMD4(repeating: scale(blk, 2)) * da
            for j in 0..<4 {
                let q = blk.loadUnaligned(fromByteOffset: 16 &+ 32 &* j, as: Bytes.self)
                let lo = _mm256_and_si256(q, mask), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask)
                let s0 = _mm256_set1_epi16(Int16(sc[2 &* j])), s1 = _mm256_set1_epi16(Int16(sc[2 &* j &+ 1]))
                let e = 256 &* sb &+ 64 &* j
                let isum = add4(each(x, xs) { scaled(lo, $0, e, s0) }, each(x, xs) { scaled(hi, $0, e &+ 32, s1) })
                let m0 = Int32(mn[2 &* j]), m1 = Int32(mn[2 &* j &+ 1]), b = 8 &* sb &+ 2 &* j
                @inline(__always) func msum(_ t: ActivationBlocks) -> Float {
                    Float(m0 &* t.sums[b] &+ m1 &* t.sums[b &+ 1])
                }
                acc = acc.addingProduct(lanes4(isum), d)
                minimum = minimum.addingProduct(SIMD4(msum(a.0), msum(a.1), msum(a.2), msum(a.3)), dmin)
            }
        }
        return acc - minimum
    }

    /// `q6_K` for four tokens.
    @inline(__always) private static func q6_Kx4(_ w: UnsafeRawPointer, _ superBlocks: Int, _ x: UnsafePointer<Int8>,
                                                  _ xs: Int, _ a: Blocks4, _ a16: Blocks4, tiled: Bool) -> SIMD4<Float> {
        var acc = Acc4()
        var tiledSum = SIMD4<Float>()
        for sb in 0..<superBlocks {
            let blk = w + 210 &* sb
            var isum = (Bytes(), Bytes(), Bytes(), Bytes())
            for n in 0..<2 {
                let e = q6Quants(blk, half: n)
                let base = 256 &* sb &+ 128 &* n, g = 8 &* n
                let p0 = q6Pair(blk, g), p1 = q6Pair(blk, g &+ 2), p2 = q6Pair(blk, g &+ 4), p3 = q6Pair(blk, g &+ 6)
                isum = add4(isum, each(x, xs) { scaled(e.0, $0, base, p0) })
                isum = add4(isum, each(x, xs) { scaled(e.1, $0, base &+ 32, p1) })
                isum = add4(isum, each(x, xs) { scaled(e.2, $0, base &+ 64, p2) })
                isum = add4(isum, each(x, xs) { scaled(e.3, $0, base &+ 96, p3) })
            }
            let sums = (_mm256_sub_epi32(isum.0, q6Offsets(blk, a16.0, sb)), _mm256_sub_epi32(isum.1, q6Offsets(blk, a16.1, sb)),
                        _mm256_sub_epi32(isum.2, q6Offsets(blk, a16.2, sb)), _mm256_sub_epi32(isum.3, q6Offsets(blk, a16.3, sb)))
            let dw = scale(blk, 208), da = scales(a, sb)
            if tiled {
                tiledSum = tiledSum.addingProduct(SIMD4(repeating: dw) * lanes4(sums), da)
            } else {
                acc.add(sums, SIMD4(repeating: dw) * da)
            }
        }
        return tiled ? tiledSum : acc.totals
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
            acc.add(each(x, xs) { centered(u, eight, $0, b) }, scale(blk, 0), a, b)
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
            acc.add(each(x, xs) { centered(u, sixteen, $0, b) }, scale(blk, 0), a, b)
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
