/// Vectorized pieces of the reference quantizers, written with lane-wise integer and float
/// arithmetic only (no SIMDMask, no rounding or conversion initializers: in the standard library
/// those are generic per-lane loops). Results are bit-identical to the scalar definitions; the
/// fixture tests compare the block bytes with gguf Python's.

typealias U32x8 = SIMD8<UInt32>

@inline(__always) func bits(_ v: F32x8) -> U32x8 { unsafeBitCast(v, to: U32x8.self) }
@inline(__always) func float(_ v: U32x8) -> F32x8 { unsafeBitCast(v, to: F32x8.self) }

/// Lane-wise max of two vectors of values below 2^31.
@inline(__always) func maxBelow2p31(_ a: U32x8, _ b: U32x8) -> U32x8 {
    let d = unsafeBitCast(b &- a, to: I32x8.self)
    return unsafeBitCast(d &>> 31, to: U32x8.self) & (a &- b) &+ b
}

/// The largest |x| of 32 floats at `x`, as `fabsf`/`MAX` compute it (NaNs aside).
@inline(__always) func absMax32(_ x: UnsafePointer<Float>) -> Float {
    let p = UnsafeRawPointer(x)
    var m = bits(p.loadUnaligned(as: F32x8.self)) & 0x7fff_ffff
    for c in 1..<4 { m = maxBelow2p31(m, bits(p.loadUnaligned(fromByteOffset: 32 * c, as: F32x8.self)) & 0x7fff_ffff) }
    var r: UInt32 = 0
    for i in 0..<8 { r = max(r, m[i]) }
    return Float(bitPattern: r)
}

/// `roundf` (ties away from zero) to Int32, for |v| < 2^22. Rounds to nearest even with the
/// 2^23 trick, then moves ties that went down (a - r == 0.5) up by one.
@inline(__always) func roundAway(_ v: F32x8) -> I32x8 {
    let sign = unsafeBitCast(bits(v) & 0x8000_0000, to: I32x8.self) &>> 31
    let a = float(bits(v) & 0x7fff_ffff)
    let r = (a + 8_388_608) - 8_388_608
    let x = bits(a - r) ^ 0x3F00_0000  // zero exactly on a tie rounded down
    let isTie = 1 &- ((x | (0 &- x)) &>> 31)
    let magnitude = unsafeBitCast(bits(r + 8_388_608) &- 0x4B00_0000 &+ isTie, to: I32x8.self)
    return (magnitude ^ sign) &- sign
}

/// Round to nearest even to Int32 (ggml's `nearest_int`), for |v| < 2^22.
@inline(__always) func roundEven(_ v: F32x8) -> I32x8 {
    unsafeBitCast(bits(v + 12_582_912) &- 0x4B40_0000, to: I32x8.self)
}

/// The 32 Q8_0 quants of a block as llama.cpp's CPU backend quantizes activations (its SIMD
/// `quantize_row_q8_0`, not the reference): ties round to even, and on x86-64 the inverse
/// scale is 127 / amax rather than 1 / (amax / 127), which rounds differently about once in
/// 10^5 quants: enough, over a forward pass, to move these small models' log-probs by
/// hundredths. Returns the f16 bits of d, d itself (Q8_1's sum term uses it unrounded) and
/// the quants.
@inline(__always) func quantizeQ8_0ActivationLanes(_ x: UnsafePointer<Float>)
    -> (d: UInt16, exactD: Float, q: (I32x8, I32x8, I32x8, I32x8)) {
    let amax = absMax32(x)
    let d = amax / 127
    #if arch(x86_64)
    let id: Float = amax != 0 ? 127 / amax : 0
    #else
    let id: Float = d != 0 ? 1 / d : 0
    #endif
    let p = UnsafeRawPointer(x)
    @inline(__always) func lane(_ c: Int) -> I32x8 { roundEven(p.loadUnaligned(fromByteOffset: 32 * c, as: F32x8.self) * id) }
    return (floatToHalf(d), d, (lane(0), lane(1), lane(2), lane(3)))
}

/// The 32 Q8_0 quants of a block (4 x 8 lanes) and the f16 bits of its scale, as
/// `quantize_row_q8_0_ref`: d = amax / 127, q = roundf(x * (1 / d)).
@inline(__always) func quantizeQ8_0Lanes(_ x: UnsafePointer<Float>) -> (d: UInt16, q: (I32x8, I32x8, I32x8, I32x8)) {
    let d = absMax32(x) / 127
    let id: Float = d != 0 ? 1 / d : 0
    let p = UnsafeRawPointer(x)
    @inline(__always) func lane(_ c: Int) -> I32x8 { roundAway(p.loadUnaligned(fromByteOffset: 32 * c, as: F32x8.self) * id) }
    return (floatToHalf(d), (lane(0), lane(1), lane(2), lane(3)))
}

/// 32 Q8_K quants (4 x 8 lanes) of `x` for the block scale `iscale`: nearest_int, at most 127.
@inline(__always) func quantizeQ8_KLanes(_ x: UnsafePointer<Float>, iscale: Float) -> (I32x8, I32x8, I32x8, I32x8) {
    let p = UnsafeRawPointer(x)
    @inline(__always) func lane(_ c: Int) -> I32x8 {
        let q = roundEven(p.loadUnaligned(fromByteOffset: 32 * c, as: F32x8.self) * iscale)
        let over = q &- 127
        return over & (over &>> 31) &+ 127  // min(q, 127)
    }
    return (lane(0), lane(1), lane(2), lane(3))
}

/// Stores 32 quants as Int8 in element order.
@inline(__always) func storeInt8(_ q: (I32x8, I32x8, I32x8, I32x8), _ dst: UnsafeMutablePointer<Int8>) {
    for i in 0..<8 {
        dst[i] = Int8(truncatingIfNeeded: q.0[i])
        dst[8 + i] = Int8(truncatingIfNeeded: q.1[i])
        dst[16 + i] = Int8(truncatingIfNeeded: q.2[i])
        dst[24 + i] = Int8(truncatingIfNeeded: q.3[i])
    }
}

/// Stores 32 quants as Int16 in the activations' split layout: the 16 even elements, then the
/// 16 odd ones.
@inline(__always) func storeSplit(_ q: (I32x8, I32x8, I32x8, I32x8), _ dst: UnsafeMutablePointer<Int16>) {
    for i in 0..<4 {
        dst[i] = Int16(truncatingIfNeeded: q.0[2 * i])
        dst[4 + i] = Int16(truncatingIfNeeded: q.1[2 * i])
        dst[8 + i] = Int16(truncatingIfNeeded: q.2[2 * i])
        dst[12 + i] = Int16(truncatingIfNeeded: q.3[2 * i])
        dst[16 + i] = Int16(truncatingIfNeeded: q.0[2 * i + 1])
        dst[20 + i] = Int16(truncatingIfNeeded: q.1[2 * i + 1])
        dst[24 + i] = Int16(truncatingIfNeeded: q.2[2 * i + 1])
        dst[28 + i] = Int16(truncatingIfNeeded: q.3[2 * i + 1])
    }
}
