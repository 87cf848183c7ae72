/// IEEE half and bfloat16 conversions, written out with integer operations so that they are exact,
/// branch-free and cheap on any CPU (a `Float16` conversion is a library call on x86-64 unless the
/// target enables F16C).

/// Converts an IEEE 754 half (as its bit pattern) to `Float`, exactly, including subnormals,
/// infinities and NaNs.
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    // Shift the half into the top of a 32-bit word and rebias. Normals: move exponent+mantissa
    // down by 4 bits (so the 5-bit exponent lands in the low bits of the 8-bit one), add a bias
    // offset, and scale by 2^-112 to finish rebiasing; inf/NaN come out right because the
    // scaled-up exponent saturates to 255. Subnormals: place the mantissa under a fixed exponent
    // (magic 0.5) and subtract 0.5, which is exact.
    let w = UInt32(h) << 16
    let sign = w & 0x8000_0000
    let twoW = w &+ w
    let normalized = Float(bitPattern: (twoW >> 4) &+ (0xE0 << 23)) * Float(bitPattern: 0x0780_0000)
    let denormalized = Float(bitPattern: (twoW >> 17) | (126 << 23)) - 0.5
    let bits = twoW < (1 << 27) ? denormalized.bitPattern : normalized.bitPattern
    return Float(bitPattern: sign | bits)
}

/// Converts a `Float` to the bit pattern of the nearest IEEE half (ties to even), as ggml's
/// `GGML_FP32_TO_FP16` does; out-of-range values become infinities.
@inline(__always)
public func floatToHalf(_ f: Float) -> UInt16 {
    Float16(f).bitPattern
}

/// Converts a bfloat16 bit pattern to `Float` (exact: bfloat16 is the top half of a `Float`).
@inline(__always)
public func bfloat16ToFloat(_ h: UInt16) -> Float {
    Float(bitPattern: UInt32(h) << 16)
}
