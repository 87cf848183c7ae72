#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Integer SIMD building blocks for the dot kernels.
///
/// Only plain lane-wise arithmetic, shifts and bit casts are used: the standard library's SIMD
/// type conversions (e.g. `SIMD16<Int16>(truncatingIfNeeded: SIMD16<Int8>)`) compile to generic
/// out-of-line calls, while shifts on 16-bit lanes compile to single AVX2/NEON instructions.
/// Bytes are widened to 16 bits by loading byte pairs as 16-bit lanes and splitting them with
/// shifts (even bytes: shift left 8 then arithmetic right 8; odd bytes: arithmetic right 8).

typealias I16x16 = SIMD16<Int16>
typealias U16x16 = SIMD16<UInt16>
typealias U16x8 = SIMD8<UInt16>
typealias I32x8 = SIMD8<Int32>
typealias F32x8 = SIMD8<Float>

extension UnsafeRawPointer {
    @inline(__always) func i16x16(_ offset: Int) -> I16x16 { loadUnaligned(fromByteOffset: offset, as: I16x16.self) }
    @inline(__always) func u16x16(_ offset: Int) -> U16x16 { loadUnaligned(fromByteOffset: offset, as: U16x16.self) }
    @inline(__always) func u16x8(_ offset: Int) -> U16x8 { loadUnaligned(fromByteOffset: offset, as: U16x8.self) }
}

/// Sign-extended even bytes of 32 bytes loaded as 16 lanes.
@inline(__always) func evenBytes(_ x: I16x16) -> I16x16 { (x &<< 8) &>> 8 }
/// Sign-extended odd bytes.
@inline(__always) func oddBytes(_ x: I16x16) -> I16x16 { x &>> 8 }

/// Sums adjacent 16-bit lanes into 32-bit lanes (what x86's pmaddwd does after a multiply).
@inline(__always) func pairSum(_ p: I16x16) -> I32x8 {
    let q = unsafeBitCast(p, to: I32x8.self)
    return ((q &<< 16) &>> 16) &+ (q &>> 16)
}

@inline(__always) func asSigned(_ u: U16x16) -> I16x16 { unsafeBitCast(u, to: I16x16.self) }

/// The dot product of 32 weights given as even/odd 16-bit lanes with the 32 activations at
/// `a` (split layout: 16 even, then 16 odd Int16), pair-summed into 8 x Int32. Each 16-bit sum
/// of two products must fit: |w| <= 128 with activations in -127...127 does.
@inline(__always) func dot32(even w0: I16x16, odd w1: I16x16, activations a: UnsafeRawPointer) -> I32x8 {
    pairSum(w0 &* a.i16x16(0) &+ w1 &* a.i16x16(32))
}

/// Two 16-lane halves from one 8-lane vector of nibble pairs: lanes 0-7 hold the low nibbles of
/// the 16 bytes, lanes 8-15 the high nibbles, each lane still as (even, odd) bytes.
/// `mask` is 0x0F0F in every lane, passed in from memory (`ActivationRow.nibbleMask`): with a
/// literal the optimizer merges the shifts and masks into per-lane variable shifts and shuffles.
@inline(__always) func splitNibbles(_ q: U16x8, mask: U16x16) -> U16x16 {
    U16x16(lowHalf: q, highHalf: q &>> 4) & mask
}

@inline(__always) func toFloat(_ v: I32x8) -> F32x8 { F32x8(v) }

/// Activation row view for the kernels: quants, scales, sums of one row.
@usableFromInline struct ActivationRow {
    /// Int16 quants, even/odd split per 32 (64 bytes per 32 elements).
    let qs: UnsafeRawPointer
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Int32>
    /// `QuantizedActivations.minSums` (Q8_0 rows only).
    let minSums: UnsafePointer<Float>
    /// `QuantizedActivations.kernelConstants`.
    let constants: UnsafePointer<U16x16>
    /// See `splitNibbles`.
    var nibbleMask: U16x16 { constants[0] }
    /// See `q5HighBits`.
    var q5Constants: (U32x8, U32x8) { UnsafeRawPointer(constants + 1).loadUnaligned(as: (U32x8, U32x8).self) }
}

extension QuantizedActivations {
    @inline(__always) func row(_ r: Int) -> ActivationRow {
        ActivationRow(qs: UnsafeRawPointer(qs + r * count), scales: scales + r * scalesPerRow, sums: sums + r * sumsPerRow,
                      minSums: minSums + (format == .q8_0 ? r * (count / 32) : 0), constants: kernelConstants)
    }
}

/// `halfToFloat` on 8 lanes (each lane's low 16 bits hold a half).
@inline(__always) func halfToFloat8(_ h: SIMD8<UInt32>) -> F32x8 {
    let w = h &<< 16
    let sign = w & 0x8000_0000
    let twoW = w &+ w
    let normalized = unsafeBitCast((twoW &>> 4) &+ (0xE0 << 23), to: F32x8.self) * Float(bitPattern: 0x0780_0000)
    let denormalized = unsafeBitCast((twoW &>> 17) | (126 << 23), to: F32x8.self) - 0.5
    // Select without SIMDMask (whose operations are generic library loops): all-ones where
    // twoW < 2^27, i.e. where twoW >> 27 == 0.
    let small = SIMD8<UInt32>() &- (((twoW &>> 27) &- 1) &>> 31)
    let bits = (unsafeBitCast(denormalized, to: SIMD8<UInt32>.self) & small)
        | (unsafeBitCast(normalized, to: SIMD8<UInt32>.self) & ~small)
    return unsafeBitCast(sign | bits, to: F32x8.self)
}

/// 8 consecutive halves at `p` as floats (exact). The widening is written lane by lane, which
/// the compiler turns into one zero-extending move, unlike the generic SIMD conversion.
@inline(__always) func load8Halves(_ p: UnsafeRawPointer) -> F32x8 {
    let h = p.loadUnaligned(as: SIMD8<UInt16>.self)
    return halfToFloat8(SIMD8<UInt32>(UInt32(h[0]), UInt32(h[1]), UInt32(h[2]), UInt32(h[3]),
                                      UInt32(h[4]), UInt32(h[5]), UInt32(h[6]), UInt32(h[7])))
}

/// The f16 field at `offset` of 8 consecutive blocks of `stride` bytes, as floats. Only the
/// first `n` (1...8) blocks are read; lanes past them repeat block n - 1 (callers zero them
/// with `laneMask`). Converting 8 block scales at once keeps the per-block scalar work off the
/// critical path of the 32-element kernels.
@inline(__always) func blockHalves(_ p: UnsafeRawPointer, stride: Int, offset: Int, _ n: Int) -> F32x8 {
    var h = SIMD8<UInt32>()
    for i in 0..<8 { h[i] = UInt32(p.u16(min(i, n &- 1) &* stride &+ offset)) }
    return halfToFloat8(h)
}

/// As `blockHalves` for two adjacent f16 fields at the start of each block (Q4_1/Q5_1's d and
/// m), gathered with one 32-bit load per block.
@inline(__always) func blockHalfPairs(_ p: UnsafeRawPointer, stride: Int, _ n: Int) -> (F32x8, F32x8) {
    var h = SIMD8<UInt32>()
    for i in 0..<8 { h[i] = p.u32(min(i, n &- 1) &* stride) }
    return (halfToFloat8(h & 0xFFFF), halfToFloat8(h &>> 16))
}

/// 1.0 in lanes below `n`, 0.0 above.
@inline(__always) func laneMask(_ n: Int) -> F32x8 {
    let below = (I32x8(0, 1, 2, 3, 4, 5, 6, 7) &- I32x8(repeating: Int32(truncatingIfNeeded: n))) &>> 31
    return toFloat(0 &- below)
}

/// 8 floats (the memory must extend 8 floats; activation buffers are padded for this).
@inline(__always) func load8(_ p: UnsafePointer<Float>) -> F32x8 {
    UnsafeRawPointer(p).loadUnaligned(as: F32x8.self)
}

/// 8 Int32 values as floats (padded memory, as `load8`).
@inline(__always) func load8AsFloats(_ p: UnsafePointer<Int32>) -> F32x8 {
    toFloat(UnsafeRawPointer(p).loadUnaligned(as: I32x8.self))
}

/// Sum of the lanes as a tree (3 dependent adds; `sum()` adds the 8 lanes one after another).
@inline(__always) func laneSum(_ v: F32x8) -> Float {
    let h = v.lowHalf + v.highHalf
    let q = h.lowHalf + h.highHalf
    return q[0] + q[1]
}

#if arch(x86_64)
/// The 8 x 8 transpose of rows `r0...r7`: element j of the result's k-th vector is `r_j[k]` (lanes
/// are moved, never computed on, so any 32-bit pattern goes through unchanged). Inlinable: as a
/// call from another module its eight rows and results went through the stack.
@inlinable @inline(__always)
public func transpose8(_ r0: SIMD8<Float>, _ r1: SIMD8<Float>, _ r2: SIMD8<Float>, _ r3: SIMD8<Float>, _ r4: SIMD8<Float>,
                _ r5: SIMD8<Float>, _ r6: SIMD8<Float>, _ r7: SIMD8<Float>)
    -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    let t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1)
    let t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3)
    let t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5)
    let t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7)
    // Pairs of floats as doubles: the unpacks take the immediates' place (Swift cannot call
    // the intrinsics that take one).
    @inline(__always) func lo(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(_mm256_unpacklo_pd(unsafeBitCast(a, to: SIMD4<Double>.self), unsafeBitCast(b, to: SIMD4<Double>.self)),
                      to: SIMD8<Float>.self)
    }
    @inline(__always) func hi(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(_mm256_unpackhi_pd(unsafeBitCast(a, to: SIMD4<Double>.self), unsafeBitCast(b, to: SIMD4<Double>.self)),
                      to: SIMD8<Float>.self)
    }
    let u0 = lo(t0, t2), u1 = hi(t0, t2), u2 = lo(t1, t3), u3 = hi(t1, t3)
    let u4 = lo(t4, t6), u5 = hi(t4, t6), u6 = lo(t5, t7), u7 = hi(t5, t7)
    return (SIMD8(lowHalf: u0.lowHalf, highHalf: u4.lowHalf), SIMD8(lowHalf: u1.lowHalf, highHalf: u5.lowHalf),
            SIMD8(lowHalf: u2.lowHalf, highHalf: u6.lowHalf), SIMD8(lowHalf: u3.lowHalf, highHalf: u7.lowHalf),
            SIMD8(lowHalf: u0.highHalf, highHalf: u4.highHalf), SIMD8(lowHalf: u1.highHalf, highHalf: u5.highHalf),
            SIMD8(lowHalf: u2.highHalf, highHalf: u6.highHalf), SIMD8(lowHalf: u3.highHalf, highHalf: u7.highHalf))
}
#endif
