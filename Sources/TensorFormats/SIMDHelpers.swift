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

/// The dot product of 32 int8 activations (loaded as 16 byte pairs) with 32 weights given as
/// even/odd 16-bit lanes, pair-summed into 8 x Int32. Each 16-bit partial sum must fit: weights
/// up to 63 in magnitude (or 127 with one pair only) times activations up to 127.
@inline(__always) func dot32(even w0: I16x16, odd w1: I16x16, activations a: I16x16) -> I32x8 {
    pairSum(w0 &* evenBytes(a) &+ w1 &* oddBytes(a))
}

/// Two 16-lane halves from one 8-lane vector of nibble pairs: lanes 0-7 hold the low nibbles of
/// the 16 bytes, lanes 8-15 the high nibbles, each lane still as (even, odd) bytes.
@inline(__always) func splitNibbles(_ q: U16x8) -> U16x16 {
    U16x16(lowHalf: q, highHalf: q &>> 4) & 0x0F0F
}

@inline(__always) func toFloat(_ v: I32x8) -> F32x8 { F32x8(v) }

/// Activation row view for the kernels: quants, scales, sums of one row.
@usableFromInline struct ActivationRow {
    let qs: UnsafeRawPointer
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Int32>
}

extension QuantizedActivations {
    @inline(__always) func row(_ r: Int) -> ActivationRow {
        ActivationRow(qs: UnsafeRawPointer(qs + r * count), scales: scales + r * scalesPerRow, sums: sums + r * sumsPerRow)
    }
}
