#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Dot products of 32-element-block weight rows with one token's 8-bit activations on x86-64,
/// built on `pmaddubsw` as `IntegerGemm` is: per block, the weight quants are unpacked to 32
/// bytes in registers and multiplied with the 32 activation bytes in one instruction. (The
/// portable kernels (`matmul`) widen to 16 bits first, which costs twice the multiplies; at one
/// token per weight row nothing can be amortized, so the instruction count is the speed.)
///
/// Each kernel is the one llama.cpp's AVX2 build runs for the type, operation for operation:
/// ggml's `vec_dot` (for Q4_K, its repacked 8x8 kernel, which llama.cpp uses on AVX2): the same
/// integer lanes with the offsets taken out per lane, the same fused multiply-adds (also where
/// GCC fuses ggml's scalar code) and the same reduction. So a product equals llama.cpp's to the
/// bit, which is why decoded tokens and batches under `Gemm.minTokens` go through here.
public enum ByteDot {
    typealias Bytes = SIMD4<Int64>

    public static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K: true
        default: false
        }
    }

    /// `y[r * yStride]` = row r · activations, for `rows` rows of `type` from `base`.
    /// `token` of a batch of `batch` tokens: llama.cpp's kernel, so the float steps, can depend
    /// on both. Q4_K (repacked): rows in the batch's groups of four go through its GEMM, which
    /// adds each 64-element pair of sub-blocks to its sums, the rest through its GEMV, which
    /// adds each super-block. Q6_K: batches of 8 or more go through its tiled K-quant kernel,
    /// which scales each super-block's integer sum by the weight's d before the activation's.
    /// `blocks` and `blocks16` are the activations' per-block values at 32 and 16 elements.
    public static func rows(_ type: GGMLType, base: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, cols: Int,
                     x: UnsafePointer<Int8>, blocks: ActivationBlocks, blocks16: ActivationBlocks,
                     y: UnsafeMutablePointer<Float>, yStride: Int, batch: Int = 1, token: Int = 0) {
        switch type {
        case .q4_0: run(base, rowBytes, rows, cols, y, yStride) { q4_0($0, $1, x, blocks) }
        case .q4_1: run(base, rowBytes, rows, cols, y, yStride) { q4_1($0, $1, x, blocks) }
        case .q5_0: run(base, rowBytes, rows, cols, y, yStride) { q5_0($0, $1, x, blocks) }
        case .q8_0: run(base, rowBytes, rows, cols, y, yStride) { q8_0($0, $1, x, blocks) }
        case .q4_K:
            if batch > 3 && token < batch - batch % 4 {
                run(base, rowBytes, rows, cols, y, yStride) { q4_K($0, $1 / 8, x, blocks, pairwise: true) }
            } else {
                run(base, rowBytes, rows, cols, y, yStride) { q4_K($0, $1 / 8, x, blocks, pairwise: false) }
            }
        case .q6_K:
            if batch >= 8 {
                run(base, rowBytes, rows, cols, y, yStride) { q6_K($0, $1 / 8, x, blocks, blocks16, tiled: true) }
            } else {
                run(base, rowBytes, rows, cols, y, yStride) { q6_K($0, $1 / 8, x, blocks, blocks16, tiled: false) }
            }
        default: preconditionFailure("no byte kernel for \(type)")
        }
    }

    @inline(__always)
    private static func run(_ base: UnsafeRawPointer, _ rowBytes: Int, _ rows: Range<Int>, _ cols: Int,
                            _ y: UnsafeMutablePointer<Float>, _ yStride: Int,
                            _ kernel: (UnsafeRawPointer, Int) -> Float) {
        for r in rows { y[r * yStride] = kernel(base + r * rowBytes, cols / 32) }
    }

    @inline(__always) static func scale(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// The 32 nibbles of 16 bytes as bytes: low nibbles are elements 0-15, high ones 16-31.
    @inline(__always) static func nibbles(_ p: UnsafeRawPointer) -> Bytes {
        let q = p.loadUnaligned(as: SIMD2<Int64>.self)
        let mask = _mm_set1_epi8(0x0F)
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), mask), _mm_and_si128(q, mask))
    }

    /// Σ over 8 lanes of 4 byte products each: `w` unsigned, `x` signed.
    @inline(__always) static func products(_ w: Bytes, _ x: UnsafePointer<Int8>, _ block: Int) -> Bytes {
        let a = UnsafeRawPointer(x + 32 &* block).loadUnaligned(as: Bytes.self)
        return _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1))
    }

    /// `products` of quants stored as unsigned bytes `u` with their constant `offset` (Q4_0's 8,
    /// Q5_0's 16) taken out lane by lane, as ggml's signed quants give them.
    @inline(__always) static func centered(_ u: Bytes, _ offset: Bytes, _ x: UnsafePointer<Int8>, _ block: Int) -> Bytes {
        _mm256_sub_epi32(products(u, x, block), products(offset, x, block))
    }

    @inline(__always) static func add(_ acc: inout SIMD8<Float>, _ sum: Bytes, _ scale: Float) {
        acc.addProduct(_mm256_cvtepi32_ps(sum), SIMD8(repeating: scale))
    }

    /// The sum of the 8 integer lanes.
    @inline(__always) static func lanes(_ v: Bytes) -> Int32 {
        let l = unsafeBitCast(v, to: SIMD8<Int32>.self)
        return l.wrappedSum()
    }

    @inline(__always) static func total(_ v: SIMD8<Float>) -> Float {
        let h = v.lowHalf + v.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

    @inline(__always) private static func q4_0(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                               _ a: ActivationBlocks) -> Float {
        var acc = SIMD8<Float>()
        let eight = _mm256_set1_epi8(8)
        for b in 0..<blocks {
            let blk = w + 18 &* b
            add(&acc, centered(nibbles(blk + 2), eight, x, b), scale(blk, 0) * a.scales[b])
        }
        return total(acc)
    }

    @inline(__always) private static func q4_1(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                               _ a: ActivationBlocks) -> Float {
        var acc = SIMD8<Float>()
        var minimum: Float = 0
        for b in 0..<blocks {
            let blk = w + 20 &* b
            add(&acc, products(nibbles(blk + 4), x, b), scale(blk, 0) * a.scales[b])
            minimum = minimum.addingProduct(scale(blk, 2), a.scaledSums[b])  // fused, as GCC compiles ggml's
        }
        return total(acc) + minimum
    }

    @inline(__always) private static func q5_0(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                               _ a: ActivationBlocks) -> Float {
        var acc = SIMD8<Float>()
        let sixteen = _mm256_set1_epi8(0x10)
        for b in 0..<blocks {
            let blk = w + 22 &* b
            add(&acc, centered(q5Bytes(blk), sixteen, x, b), scale(blk, 0) * a.scales[b])
        }
        return total(acc)
    }

    /// A Q5_0 block's 32 quants as unsigned bytes (0...31), elements in order.
    @inline(__always) static func q5Bytes(_ blk: UnsafeRawPointer) -> Bytes {
        // Byte j of `spread` holds byte j / 8 of qh; OR-ing in every bit but bit j % 8 and
        // comparing with all-ones leaves 0xFF where element j's fifth bit is set.
        let spread = _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202, 0x0101_0101_0101_0101, 0)
        let others = _mm256_set1_epi64x(0x7FBF_DFEF_F7FB_FDFE)
        let qh = Int32(bitPattern: blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let bits = _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(qh), spread), others),
                                     _mm256_set1_epi64x(-1))
        return _mm256_or_si256(nibbles(blk + 6), _mm256_and_si256(bits, _mm256_set1_epi8(0x10)))
    }

    /// Σ scale · (bytes · activations) over 8 lanes: the multiply-add with the block's 16-bit
    /// scale in every lane replaces the widening by ones.
    @inline(__always) static func scaled(_ w: Bytes, _ x: UnsafePointer<Int8>, _ element: Int, _ scale: Bytes) -> Bytes {
        let a = UnsafeRawPointer(x + element).loadUnaligned(as: Bytes.self)
        return _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), scale)
    }

    /// Q4_K: d, dmin, 12 bytes of 6-bit scales and mins (unpacked 4 at a time as in
    /// `dotQ4_K`), 128 bytes of nibbles: 32 bytes' low nibbles are one
    /// 32-element sub-block, their high nibbles the next.
    @inline(__always) private static func q4_K(_ w: UnsafeRawPointer, _ superBlocks: Int, _ x: UnsafePointer<Int8>,
                                               _ a: ActivationBlocks, pairwise: Bool) -> Float {
        var acc: Float = 0
        var minimum: Float = 0
        let mask = _mm256_set1_epi8(0x0F)
        for sb in 0..<superBlocks {
            let blk = w + 144 &* sb
            let (sc, mn) = q4KScales(blk)
            let xs = x + 256 &* sb
            let da = a.scales[8 &* sb]
            let d = scale(blk, 0) * da, dmin = scale(blk, 2) * da
            var isum = Bytes()
            var msum: Int32 = 0
            for j in 0..<4 {
                let q = blk.loadUnaligned(fromByteOffset: 16 &+ 32 &* j, as: Bytes.self)
                let lo = _mm256_and_si256(q, mask), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), mask)
                isum = _mm256_add_epi32(isum, scaled(lo, xs, 64 &* j, _mm256_set1_epi16(Int16(sc[2 &* j]))))
                isum = _mm256_add_epi32(isum, scaled(hi, xs, 64 &* j &+ 32, _mm256_set1_epi16(Int16(sc[2 &* j &+ 1]))))
                msum &+= Int32(mn[2 &* j]) &* a.sums[8 &* sb &+ 2 &* j] &+ Int32(mn[2 &* j &+ 1]) &* a.sums[8 &* sb &+ 2 &* j &+ 1]
                if pairwise {
                    acc = acc.addingProduct(Float(lanes(isum)), d)
                    minimum = minimum.addingProduct(Float(msum), dmin)
                    isum = Bytes()
                    msum = 0
                }
            }
            if !pairwise {
                acc = acc.addingProduct(Float(lanes(isum)), d)
                minimum = minimum.addingProduct(Float(msum), dmin)
            }
        }
        return acc - minimum
    }

    /// A Q4_K super-block's eight 6-bit sub-block scales and minimums.
    @inline(__always) static func q4KScales(_ blk: UnsafeRawPointer) -> (SIMD8<UInt8>, SIMD8<UInt8>) {
        let u0 = blk.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let u1 = blk.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let u2 = blk.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        let scales = SIMD2<UInt32>(u0 & 0x3f3f_3f3f, (u2 & 0x0f0f_0f0f) | (((u0 >> 6) & 0x0303_0303) << 4))
        let mins = SIMD2<UInt32>(u1 & 0x3f3f_3f3f, ((u2 >> 4) & 0x0f0f_0f0f) | (((u1 >> 6) & 0x0303_0303) << 4))
        return (unsafeBitCast(scales, to: SIMD8<UInt8>.self), unsafeBitCast(mins, to: SIMD8<UInt8>.self))
    }

    /// Q6_K: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales (one per 16
    /// elements), d; value d · scale · (q - 32).
    @inline(__always) private static func q6_K(_ w: UnsafeRawPointer, _ superBlocks: Int, _ x: UnsafePointer<Int8>,
                                               _ a: ActivationBlocks, _ a16: ActivationBlocks, tiled: Bool) -> Float {
        var acc = SIMD8<Float>()
        var tiledSum: Float = 0
        for sb in 0..<superBlocks {
            let blk = w + 210 &* sb
            let xs = x + 256 &* sb
            var isum = Bytes()
            for n in 0..<2 {
                let e = q6Quants(blk, half: n)
                let base = 128 &* n, g = 8 &* n
                isum = _mm256_add_epi32(isum, scaled(e.0, xs, base, q6Pair(blk, g)))
                isum = _mm256_add_epi32(isum, scaled(e.1, xs, base &+ 32, q6Pair(blk, g &+ 2)))
                isum = _mm256_add_epi32(isum, scaled(e.2, xs, base &+ 64, q6Pair(blk, g &+ 4)))
                isum = _mm256_add_epi32(isum, scaled(e.3, xs, base &+ 96, q6Pair(blk, g &+ 6)))
            }
            let offsets = q6Offsets(blk, a16, sb)
            let lanesSum = _mm256_sub_epi32(isum, offsets)
            if tiled {
                tiledSum = tiledSum.addingProduct(scale(blk, 208) * Float(lanes(lanesSum)), a.scales[8 &* sb])
            } else {
                add(&acc, lanesSum, scale(blk, 208) * a.scales[8 &* sb])
            }
        }
        return tiled ? tiledSum : total(acc)
    }

    /// Half `n` of a Q6_K super-block: its four runs of 32 quants as unsigned bytes (0...63).
    @inline(__always) static func q6Quants(_ blk: UnsafeRawPointer, half n: Int) -> (Bytes, Bytes, Bytes, Bytes) {
        let low = _mm256_set1_epi8(0x0F), high = _mm256_set1_epi8(0x30)
        let ql0 = blk.loadUnaligned(fromByteOffset: 64 &* n, as: Bytes.self)
        let ql1 = blk.loadUnaligned(fromByteOffset: 64 &* n &+ 32, as: Bytes.self)
        let qh = blk.loadUnaligned(fromByteOffset: 128 &+ 32 &* n, as: Bytes.self)
        return (_mm256_or_si256(_mm256_and_si256(ql0, low), _mm256_and_si256(_mm256_slli_epi16(qh, 4), high)),
                _mm256_or_si256(_mm256_and_si256(ql1, low), _mm256_and_si256(_mm256_slli_epi16(qh, 2), high)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low), _mm256_and_si256(qh, high)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), high)))
    }

    /// Q6_K scales `g` (first 16 elements of a run) and `g + 1` (next 16) as 16-bit lanes.
    @inline(__always) static func q6Pair(_ blk: UnsafeRawPointer, _ g: Int) -> Bytes {
        let a = Int16(blk.load(fromByteOffset: 192 &+ g, as: Int8.self))
        let b = Int16(blk.load(fromByteOffset: 193 &+ g, as: Int8.self))
        return _mm256_setr_epi16(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b)
    }

    /// Q6_K's -32 offset per integer lane for super-block `sb` of activations `a16` (16-element
    /// sums): lane l covers sub-blocks 2l and 2l + 1, as ggml's does.
    @inline(__always) static func q6Offsets(_ blk: UnsafeRawPointer, _ a16: ActivationBlocks, _ sb: Int) -> Bytes {
        var offsets = SIMD8<Int32>()
        for l in 0..<8 {
            let s0 = Int32(blk.load(fromByteOffset: 192 &+ 2 &* l, as: Int8.self))
            let s1 = Int32(blk.load(fromByteOffset: 193 &+ 2 &* l, as: Int8.self))
            offsets[l] = 32 &* (s0 &* a16.sums[16 &* sb &+ 2 &* l] &+ s1 &* a16.sums[16 &* sb &+ 2 &* l &+ 1])
        }
        return unsafeBitCast(offsets, to: Bytes.self)
    }

    @inline(__always) private static func q8_0(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Int8>,
                                               _ a: ActivationBlocks) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<blocks {
            let blk = w + 34 &* b
            let q = blk.loadUnaligned(fromByteOffset: 2, as: Bytes.self)
            let act = UnsafeRawPointer(x + 32 &* b).loadUnaligned(as: Bytes.self)
            // Signed x signed through unsigned x signed: |w| times x with w's sign.
            let p = _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(act, q))
            add(&acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)), scale(blk, 0) * a.scales[b])
        }
        return total(acc)
    }
}
#endif
