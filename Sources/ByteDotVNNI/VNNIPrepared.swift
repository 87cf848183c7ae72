#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The tokens' per-block values laid out for `Job`, built once per call and read by every row:
/// per block, for each pair of tokens, their 64 activation bytes side by side and the
/// accumulators' start values (`Magic.bits` - offset · Σ activations per lane); then the four
/// tokens' scaled sums (Q4_1's minimums) and scales. A token missing from the last pair
/// repeats the last token (its outputs are not written).
struct Prepared {
    /// Two pairs of (activations, start values), then the scaled sums and scales, 64-byte aligned.
    static let blockBytes = 2 * 128 + 64
    let base: UnsafeRawPointer

    @inline(__always) func block(_ b: Int) -> PreparedBlock { PreparedBlock(base: base + Self.blockBytes &* b) }

    static func with<F: BlockFormat>(_ f: F.Type, tokens: UnsafePointer<VNNIToken>, count: Int, blocks: Int,
                                     _ body: (Prepared) -> Void) {
        withUnsafeTemporaryAllocation(byteCount: blockBytes * blocks, alignment: 64) { buffer in
            let p = buffer.baseAddress!
            let last = count - 1
            let t = (tokens[0], tokens[min(1, last)], tokens[min(2, last)], tokens[min(3, last)])
            let offset = _mm512_set1_epi8(F.offset), magic = _mm512_set1_epi32(Int32(bitPattern: Magic.bits))
            @inline(__always) func fill(_ dst: UnsafeMutableRawPointer, _ x: VNNIToken, _ z: VNNIToken, _ b: Int) {
                let lo = UnsafeRawPointer(x.qs + 32 &* b).loadUnaligned(as: Bytes.self)
                let hi = UnsafeRawPointer(z.qs + 32 &* b).loadUnaligned(as: Bytes.self)
                let pair = Bytes2(lowHalf: lo, highHalf: hi)
                dst.storeBytes(of: pair, as: Bytes2.self)
                let start = F.hasOffset ? _mm512_sub_epi32(magic, _mm512_dpbusd_epi32(Bytes2(), offset, pair)) : magic
                dst.storeBytes(of: start, toByteOffset: 64, as: Bytes2.self)
            }
            for b in 0..<blocks {
                let dst = p + blockBytes &* b
                fill(dst, t.0, t.1, b)
                if count > 2 { fill(dst + 128, t.2, t.3, b) }
                if F.hasMin {
                    dst.storeBytes(of: SIMD4(t.0.scaledSums[b], t.1.scaledSums[b], t.2.scaledSums[b], t.3.scaledSums[b]),
                                   toByteOffset: 256, as: SIMD4<Float>.self)
                }
                dst.storeBytes(of: SIMD4(t.0.scales[b], t.1.scales[b], t.2.scales[b], t.3.scales[b]),
                               toByteOffset: 272, as: SIMD4<Float>.self)
            }
            body(Prepared(base: UnsafeRawPointer(p)))
        }
    }
}

/// Integer lanes as floats without a conversion instruction: an integer i with |i| < 2^22
/// added to the bits of 1.5 · 2^23 gives the float 1.5 · 2^23 + i, and subtracting 1.5 · 2^23
/// leaves i exactly, the value `cvtdq2ps` gives. The add rides in `vpdpbusd`'s start value
/// and the subtraction runs on the floating-point adders, off the multipliers that the
/// dot products and fused multiply-adds saturate. Lanes here are at most 4 · 255 · 128.
enum Magic {
    static let bits: UInt32 = 0x4B40_0000
    static let value: Float = 12_582_912
}

/// One block's prepared values (see `Prepared`).
struct PreparedBlock {
    let base: UnsafeRawPointer

    @inline(__always) func activations(_ pair: Int) -> Bytes2 { base.load(fromByteOffset: 128 &* pair, as: Bytes2.self) }
    @inline(__always) func start(_ pair: Int) -> Bytes2 { base.load(fromByteOffset: 128 &* pair &+ 64, as: Bytes2.self) }
    @inline(__always) var scaledSums: SIMD4<Float> { base.load(fromByteOffset: 256, as: SIMD4<Float>.self) }
    /// Each token's activation scale.
    @inline(__always) var scales4: SIMD4<Float> { base.load(fromByteOffset: 272, as: SIMD4<Float>.self) }
}
#endif
