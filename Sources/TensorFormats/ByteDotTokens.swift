#if arch(x86_64)
import _Builtin_intrinsics.intel
import ByteDotVNNI
import CPrefetch

/// Up to four tokens through `ByteDot` at once: each weight block is loaded and unpacked once
/// and multiplied with every token's activations, and each token's arithmetic is a
/// single-token kernel's, operation for operation (integer lanes are exact, and every float
/// step is the same fused multiply-add or product in the same order). A prefill batch token by
/// token otherwise unpacks every block once per token; rows of different sequences decoded in
/// one pass would stream the weights once per sequence.
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
        tokens(C4.self, type, base: base, rowBytes: rowBytes, rows: rows, cols: cols, x: x, xStride: xStride,
               blocks: blocks, blocks16: blocks16, y: y, yStride: yStride, yTokenStride: yTokenStride,
               pairwise: true, tiled: batch >= 8)
    }

    /// Rows `tokens` (1 to 4 of them) of `a`, each exactly as `rows` computes it for a token
    /// decoded alone (`batch` 1): rows of different sequences sharing a pass (`Models`'
    /// independent rows) read each weight block once for all of them. Outputs of token `t` go
    /// to `y + t * yTokenStride`, rows `yStride` apart. `kernels` only changes the speed.
    public static func rowsAlone(_ type: GGMLType, base: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>,
                                 activations a: ByteActivations, tokens: Range<Int>,
                                 y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int,
                                 kernels: ByteKernels = .preferred) {
        let first = tokens.lowerBound
        // One token streams the weights faster through the AVX2 kernel (measured on Gemma's
        // output matrix), so VNNI starts at two.
        if kernels == .avx512VNNI, tokens.count > 1, let format = type.vnniBlockType {
            precondition(kernels.isAvailable, "this CPU has no AVX-512 VNNI")
            precondition(tokens.count <= 4, "1 to 4 tokens at a time, not \(tokens.count)")
            withUnsafeTemporaryAllocation(of: VNNIToken.self, capacity: 4) { ts in
                for t in 0..<4 {
                    let row = first + min(t, tokens.count - 1), b = a.blocks(row: row, blockSize: 32)
                    ts.initializeElement(at: t, to: VNNIToken(qs: a.qs + row * a.count, scales: b.scales, scaledSums: b.scaledSums))
                }
                VNNIByteDot.rows(format, base: base, rowBytes: rowBytes, rows: rows, blocks: a.count / 32,
                                 tokens: UnsafePointer(ts.baseAddress!), count: tokens.count,
                                 y: y + first * yTokenStride, yStride: yStride, yTokenStride: yTokenStride)
            }
            return
        }
        @inline(__always) func blocks(_ size: Int) -> Blocks4 {
            let last = tokens.upperBound - 1
            return (a.blocks(row: first, blockSize: size), a.blocks(row: min(first + 1, last), blockSize: size),
                    a.blocks(row: min(first + 2, last), blockSize: size), a.blocks(row: min(first + 3, last), blockSize: size))
        }
        let x = a.qs + first * a.count, yt = y + first * yTokenStride
        @inline(__always) func run<K: Count>(_ k: K.Type) {
            self.tokens(k, type, base: base, rowBytes: rowBytes, rows: rows, cols: a.count, x: x, xStride: a.count,
                        blocks: blocks(32), blocks16: blocks(16), y: yt, yStride: yStride, yTokenStride: yTokenStride,
                        pairwise: false, tiled: false)
        }
        switch tokens.count {
        case 1:
            ByteDot.rows(type, base: base, rowBytes: rowBytes, rows: rows, cols: a.count, x: x,
                         blocks: a.blocks(row: first, blockSize: 32), blocks16: a.blocks(row: first, blockSize: 16),
                         y: yt, yStride: yStride)
        case 2: run(C2.self)
        case 3: run(C3.self)
        case 4: run(C4.self)
        default: preconditionFailure("1 to 4 tokens at a time, not \(tokens.count)")
        }
    }

    /// `K.value` tokens `xStride` bytes apart. Q4_K: `pairwise` is llama.cpp's GEMM (each
    /// 64-element pair of sub-blocks added to the sums), otherwise its GEMV (each super-block).
    /// Q6_K: `tiled` is its tiled kernel (the weight's d before the activation's).
    @inline(__always)
    private static func tokens<K: Count>(_ k: K.Type, _ type: GGMLType, base: UnsafeRawPointer, rowBytes: Int,
                                         rows: Range<Int>, cols: Int, x: UnsafePointer<Int8>, xStride: Int,
                                         blocks: Blocks4, blocks16: Blocks4, y: UnsafeMutablePointer<Float>,
                                         yStride: Int, yTokenStride: Int, pairwise: Bool, tiled: Bool) {
        @inline(__always) func run(_ kernel: (UnsafeRawPointer, Int) -> SIMD4<Float>) {
            for r in rows {
                // The row after next, a line at a time: several tokens per block read the
                // weights slower than the hardware prefetcher alone keeps them coming.
                let ahead = base + (r + 2) * rowBytes
                var line = 0
                while line < rowBytes {
                    rdic_prefetch(ahead + line)
                    line &+= 64
                }
                let v = kernel(base + r * rowBytes, cols / 32)
                for t in 0..<K.value { y[t * yTokenStride + r * yStride] = v[t] }
            }
        }
        let xs = Tokens<K>(x: x, stride: xStride)
        switch type {
        case .q4_0: run { q4_0(xs, $0, $1, blocks) }
        case .q4_1: run { q4_1(xs, $0, $1, blocks) }
        case .q5_0: run { q5_0(xs, $0, $1, blocks) }
        case .q8_0: run { q8_0(xs, $0, $1, blocks) }
        case .q4_K:
            if pairwise { run { q4_K(xs, $0, $1 / 8, blocks, pairwise: true) } } else { run { q4_K(xs, $0, $1 / 8, blocks, pairwise: false) } }
        case .q6_K:
            if tiled { run { q6_K(xs, $0, $1 / 8, blocks, blocks16, tiled: true) } } else { run { q6_K(xs, $0, $1 / 8, blocks, blocks16, tiled: false) } }
        default: preconditionFailure("no byte kernel for \(type)")
        }
    }

    typealias Bytes4 = (Bytes, Bytes, Bytes, Bytes)

    /// `K.value` tokens' activations, `stride` bytes apart; lanes past the count are left zero.
    private struct Tokens<K: Count> {
        let x: UnsafePointer<Int8>
        let stride: Int

        /// `f` applied to each token's activations.
        @inline(__always) func each(_ f: (UnsafePointer<Int8>) -> Bytes) -> Bytes4 {
            (f(x), K.value > 1 ? f(x + stride) : Bytes(), K.value > 2 ? f(x + 2 &* stride) : Bytes(),
             K.value > 3 ? f(x + 3 &* stride) : Bytes())
        }

        /// `f` of each token's per-block values.
        @inline(__always) func each(_ a: Blocks4, _ f: (ActivationBlocks) -> Float) -> SIMD4<Float> {
            SIMD4(f(a.0), K.value > 1 ? f(a.1) : 0, K.value > 2 ? f(a.2) : 0, K.value > 3 ? f(a.3) : 0)
        }

        @inline(__always) func each(_ a: Blocks4, _ f: (ActivationBlocks) -> Int32) -> SIMD4<Int32> {
            SIMD4(f(a.0), K.value > 1 ? f(a.1) : 0, K.value > 2 ? f(a.2) : 0, K.value > 3 ? f(a.3) : 0)
        }

        /// Each token's integer lanes as floats, summed: the whole-block sums of `q4_K`/`q6_K`.
        @inline(__always) func lanes4(_ s: Bytes4) -> SIMD4<Float> {
            SIMD4(Float(lanes(s.0)), K.value > 1 ? Float(lanes(s.1)) : 0, K.value > 2 ? Float(lanes(s.2)) : 0,
                  K.value > 3 ? Float(lanes(s.3)) : 0)
        }

        @inline(__always) func add(_ a: Bytes4, _ b: Bytes4) -> Bytes4 {
            (_mm256_add_epi32(a.0, b.0), K.value > 1 ? _mm256_add_epi32(a.1, b.1) : a.1,
             K.value > 2 ? _mm256_add_epi32(a.2, b.2) : a.2, K.value > 3 ? _mm256_add_epi32(a.3, b.3) : a.3)
        }
    }

    /// One accumulator per token.
    private struct Acc<K: Count> {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()

        /// Token t's integer lanes `s.t` scaled by `d` times its activation scale of block `b`
        /// (the product taken in all eight lanes at once: the same float as the single-token
        /// kernel's scalar product, without a broadcast per token).
        @inline(__always) mutating func add(_ s: Bytes4, _ d: Float, _ a: Blocks4, _ b: Int) {
            let dv = SIMD8<Float>(repeating: d)
            a0.addProduct(_mm256_cvtepi32_ps(s.0), dv * a.0.broadcastScales[b])
            if K.value > 1 { a1.addProduct(_mm256_cvtepi32_ps(s.1), dv * a.1.broadcastScales[b]) }
            if K.value > 2 { a2.addProduct(_mm256_cvtepi32_ps(s.2), dv * a.2.broadcastScales[b]) }
            if K.value > 3 { a3.addProduct(_mm256_cvtepi32_ps(s.3), dv * a.3.broadcastScales[b]) }
        }

        @inline(__always) mutating func add(_ s: Bytes4, _ d: SIMD4<Float>) {
            ByteDot.add(&a0, s.0, d[0])
            if K.value > 1 { ByteDot.add(&a1, s.1, d[1]) }
            if K.value > 2 { ByteDot.add(&a2, s.2, d[2]) }
            if K.value > 3 { ByteDot.add(&a3, s.3, d[3]) }
        }

        @inline(__always) var totals: SIMD4<Float> {
            SIMD4(ByteDot.total(a0), K.value > 1 ? ByteDot.total(a1) : 0, K.value > 2 ? ByteDot.total(a2) : 0,
                  K.value > 3 ? ByteDot.total(a3) : 0)
        }
    }

    /// Token t's activation scale of 256-element block `sb`.
    @inline(__always) private static func scales<K>(_ xs: Tokens<K>, _ a: Blocks4, _ sb: Int) -> SIMD4<Float> {
        xs.each(a) { $0.scales[8 &* sb] }
    }

    @inline(__always) private static func q4_K<K>(_ xs: Tokens<K>, _ w: UnsafeRawPointer, _ superBlocks: Int,
                                                  _ a: Blocks4, pairwise: Bool) -> SIMD4<Float> {
        var acc = SIMD4<Float>(), minimum = SIMD4<Float>()
        let mask = _mm256_set1_epi8(0x0F)
        for sb in 0..<superBlocks {
            let blk = w + 144 &* sb
            let (sc, mn) = q4KScales(blk)
            let da = scales(xs, a, sb)
            let d = SIMD4(repeating: scale(blk, 0)) * da, dmin = SIMD4(repeating: scale(blk, 2)) * da
            var isum = (Bytes(), Bytes(), Bytes(), Bytes())
            var msum = SIMD4<Int32>()
            for j in 0..<4 {
                let q = blk.loadUnaligned(fromByteOffset: 16 &+ 32 &* j, as: Bytes.self)
                let lo = _mm256_and_si256(q, mask), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask)
                let s0 = _mm256_set1_epi16(Int16(sc[2 &* j])), s1 = _mm256_set1_epi16(Int16(sc[2 &* j &+ 1]))
                let e = 256 &* sb &+ 64 &* j
                isum = xs.add(isum, xs.add(xs.each { scaled(lo, $0, e, s0) }, xs.each { scaled(hi, $0, e &+ 32, s1) }))
                let m0 = Int32(mn[2 &* j]), m1 = Int32(mn[2 &* j &+ 1]), b = 8 &* sb &+ 2 &* j
                msum &+= xs.each(a) { t in m0 &* t.sums[b] &+ m1 &* t.sums[b &+ 1] }
                if pairwise {
                    acc = acc.addingProduct(xs.lanes4(isum), d)
                    minimum = minimum.addingProduct(SIMD4<Float>(msum), dmin)
                    isum = (Bytes(), Bytes(), Bytes(), Bytes())
                    msum = SIMD4()
                }
            }
            if !pairwise {
                acc = acc.addingProduct(xs.lanes4(isum), d)
                minimum = minimum.addingProduct(SIMD4<Float>(msum), dmin)
            }
        }
        return acc - minimum
    }

    @inline(__always) private static func q6_K<K>(_ xs: Tokens<K>, _ w: UnsafeRawPointer, _ superBlocks: Int,
                                                  _ a: Blocks4, _ a16: Blocks4, tiled: Bool) -> SIMD4<Float> {
        var acc = Acc<K>()
        var tiledSum = SIMD4<Float>()
        for sb in 0..<superBlocks {
            let blk = w + 210 &* sb
            var isum = (Bytes(), Bytes(), Bytes(), Bytes())
            for n in 0..<2 {
                let e = q6Quants(blk, half: n)
                let base = 256 &* sb &+ 128 &* n, g = 8 &* n
                let p0 = q6Pair(blk, g), p1 = q6Pair(blk, g &+ 2), p2 = q6Pair(blk, g &+ 4), p3 = q6Pair(blk, g &+ 6)
                isum = xs.add(isum, xs.each { scaled(e.0, $0, base, p0) })
                isum = xs.add(isum, xs.each { scaled(e.1, $0, base &+ 32, p1) })
                isum = xs.add(isum, xs.each { scaled(e.2, $0, base &+ 64, p2) })
                isum = xs.add(isum, xs.each { scaled(e.3, $0, base &+ 96, p3) })
            }
            let sums = (_mm256_sub_epi32(isum.0, q6Offsets(blk, a16.0, sb)),
                        K.value > 1 ? _mm256_sub_epi32(isum.1, q6Offsets(blk, a16.1, sb)) : isum.1,
                        K.value > 2 ? _mm256_sub_epi32(isum.2, q6Offsets(blk, a16.2, sb)) : isum.2,
                        K.value > 3 ? _mm256_sub_epi32(isum.3, q6Offsets(blk, a16.3, sb)) : isum.3)
            let dw = scale(blk, 208), da = scales(xs, a, sb)
            if tiled {
                tiledSum = tiledSum.addingProduct(SIMD4(repeating: dw) * xs.lanes4(sums), da)
            } else {
                acc.add(sums, SIMD4(repeating: dw) * da)
            }
        }
        return tiled ? tiledSum : acc.totals
    }

    @inline(__always) private static func q4_0<K>(_ xs: Tokens<K>, _ w: UnsafeRawPointer, _ blocks: Int,
                                                  _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc<K>()
        let eight = _mm256_set1_epi8(8)
        for b in 0..<blocks {
            let blk = w + 18 &* b
            let q = _mm256_sub_epi8(nibbles(blk + 2), eight)
            let magnitude = _mm256_abs_epi8(q)
            acc.add(xs.each { signedProducts(magnitude, q, $0, b) }, scale(blk, 0), a, b)
        }
        return acc.totals
    }

    @inline(__always) private static func q4_1<K>(_ xs: Tokens<K>, _ w: UnsafeRawPointer, _ blocks: Int,
                                                  _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc<K>()
        var minimum = SIMD4<Float>()
        for b in 0..<blocks {
            let blk = w + 20 &* b
            let u = nibbles(blk + 4)
            acc.add(xs.each { products(u, $0, b) }, scale(blk, 0), a, b)
            minimum = minimum.addingProduct(SIMD4(repeating: scale(blk, 2)), xs.each(a) { $0.scaledSums[b] })
        }
        return acc.totals + minimum
    }

    @inline(__always) private static func q5_0<K>(_ xs: Tokens<K>, _ w: UnsafeRawPointer, _ blocks: Int,
                                                  _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc<K>()
        let sixteen = _mm256_set1_epi8(0x10)
        for b in 0..<blocks {
            let blk = w + 22 &* b
            let q = _mm256_sub_epi8(q5Bytes(blk), sixteen)
            let magnitude = _mm256_abs_epi8(q)
            acc.add(xs.each { signedProducts(magnitude, q, $0, b) }, scale(blk, 0), a, b)
        }
        return acc.totals
    }

    @inline(__always) private static func q8_0<K>(_ xs: Tokens<K>, _ w: UnsafeRawPointer, _ blocks: Int,
                                                  _ a: Blocks4) -> SIMD4<Float> {
        var acc = Acc<K>()
        for b in 0..<blocks {
            let blk = w + 34 &* b
            let q = blk.loadUnaligned(fromByteOffset: 2, as: Bytes.self)
            let magnitude = _mm256_abs_epi8(q)
            acc.add(xs.each { signedProducts(magnitude, q, $0, b) }, scale(blk, 0), a, b)
        }
        return acc.totals
    }

    /// Σ over 8 lanes of 4 products of signed quants `q` (|q| <= 128) with one token's
    /// activations, as unsigned magnitudes times activations carrying q's sign. Q4_0 and
    /// Q5_0 take their offset out of the weights first (one subtraction per block for every
    /// token) instead of a second multiply-add per token (`centered`): the integer lanes are
    /// the same, so are the floats.
    @inline(__always) static func signedProducts(_ magnitude: Bytes, _ q: Bytes, _ x: UnsafePointer<Int8>,
                                                 _ block: Int) -> Bytes {
        let act = UnsafeRawPointer(x + 32 &* block).loadUnaligned(as: Bytes.self)
        return _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(act, q)), _mm256_set1_epi16(1))
    }
}

extension GGMLType {
    /// The block type of an interleaved copy (`InterleavedWeights`), where there is one.
    var interleavedBlockType: VNNIBlockType? {
        switch self {
        case .q4_K: .q4_K
        case .q6_K: .q6_K
        default: vnniBlockType
        }
    }

    /// This type as `ByteDotVNNI`'s row-major kernels take it, if they have one.
    var vnniBlockType: VNNIBlockType? {
        switch self {
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .q5_0: .q5_0
        case .q8_0: .q8_0
        default: nil
        }
    }
}
#endif
