#if arch(x86_64)
import _Builtin_intrinsics.intel

/// A 32-element block format as `vpdpbusd` takes it: its quants as unsigned bytes `u`, whose
/// values are `u - offset`, and its f16 scale d at byte 0.
protocol BlockFormat {
    static var blockBytes: Int { get }
    /// What is subtracted from `unsigned`'s bytes to give the quants (as a byte: 128 is -128).
    static var offset: Int8 { get }
    /// Whether the blocks carry a minimum (an f16 at offset 2) times the scaled sums.
    static var hasMin: Bool { get }
    /// The block's 32 unsigned quants, in both 256-bit halves (one per token of a pair).
    static func unsigned(_ blk: UnsafeRawPointer) -> Bytes2
}

extension BlockFormat {
    static var hasMin: Bool { false }
    static var hasOffset: Bool { offset != 0 }

    /// d in four lanes, one per token (exact).
    @inline(__always) static func d4(_ blk: UnsafeRawPointer) -> SIMD4<Float> {
        _mm_cvtph_ps(_mm_set1_epi16(blk.loadUnaligned(as: Int16.self)))
    }

    /// The minimum (the f16 at byte 2) in four lanes, one per token.
    @inline(__always) static func minimum(_ blk: UnsafeRawPointer) -> SIMD4<Float> {
        _mm_cvtph_ps(_mm_set1_epi16(blk.loadUnaligned(fromByteOffset: 2, as: Int16.self)))
    }

    @inline(__always) static func both(_ u: Bytes) -> Bytes2 { Bytes2(lowHalf: u, highHalf: u) }
}

/// The 32 nibbles of 16 bytes as bytes in both 256-bit halves: low nibbles are elements 0-15,
/// high ones 16-31 (the 16 bytes in all four 128-bit lanes, every other lane shifted by 4).
@inline(__always) func nibbles(_ p: UnsafeRawPointer) -> Bytes2 {
    let q = _mm512_broadcast_i32x4(p.loadUnaligned(as: SIMD2<Int64>.self))
    let shifts = _mm512_set_epi64(0x0004_0004_0004_0004, 0x0004_0004_0004_0004, 0, 0,
                                  0x0004_0004_0004_0004, 0x0004_0004_0004_0004, 0, 0)
    return _mm512_and_si512(_mm512_srlv_epi16(q, shifts), _mm512_set1_epi8(0x0F))
}

enum Q8_0: BlockFormat {
    static var blockBytes: Int { 34 }
    static var offset: Int8 { -128 }
    /// q + 128: the sign bit flipped.
    @inline(__always) static func unsigned(_ blk: UnsafeRawPointer) -> Bytes2 {
        both(_mm256_xor_si256(blk.loadUnaligned(fromByteOffset: 2, as: Bytes.self), _mm256_set1_epi8(-128)))
    }
}

enum Q4_0: BlockFormat {
    static var blockBytes: Int { 18 }
    static var offset: Int8 { 8 }
    @inline(__always) static func unsigned(_ blk: UnsafeRawPointer) -> Bytes2 { nibbles(blk + 2) }
}

enum Q5_0: BlockFormat {
    static var blockBytes: Int { 22 }
    static var offset: Int8 { 16 }
    /// Nibble plus 16 where the fifth bit is set (one masked add with the 32 bits as the mask).
    @inline(__always) static func unsigned(_ blk: UnsafeRawPointer) -> Bytes2 {
        let low = nibbles(blk + 6)
        let high = UInt64(blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        return _mm512_mask_add_epi8(low, high | high << 32, low, _mm512_set1_epi8(16))
    }
}

enum Q4_1: BlockFormat {
    static var blockBytes: Int { 20 }
    static var offset: Int8 { 0 }
    static var hasMin: Bool { true }
    @inline(__always) static func unsigned(_ blk: UnsafeRawPointer) -> Bytes2 { nibbles(blk + 4) }
}
#endif
