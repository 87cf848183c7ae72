/// Dequantization: ggml blocks to `Float`, bit-exact with ggml's reference `dequantize_row_*`
/// (the same float operations in the same order, so results match to the last bit; the tests
/// check this against the `gguf` Python package).

extension GGMLType {
    /// Whether `dequantize` handles this type.
    public var canDequantize: Bool {
        switch self {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
             .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: true
        default: false
        }
    }
}

/// Dequantizes `count` elements of `type` starting at `src` into `dst`.
///
/// `count` must be a whole number of blocks (rows of every supported tensor are). Throws
/// `.unsupported` for a type without a dequantizer: add the tensor name with `naming(tensor:)`.
public func dequantize(
    _ type: GGMLType, from src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>
) throws(TensorFormatError) {
    guard type.canDequantize else { throw .unsupported(type: type, tensor: nil) }
    guard count >= 0, count % type.blockSize == 0 else { throw .notWholeBlocks(type: type, count: count) }
    let blocks = count / type.blockSize
    let bb = type.blockBytes
    switch type {
    case .f32:
        UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
    case .f16:
        var i = 0
        while i + 8 <= count {
            UnsafeMutableRawPointer(dst + i).storeBytes(of: load8Halves(src + 2 * i), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            dst[i] = src.half(2 * i)
            i += 1
        }
    case .bf16:
        for i in 0..<count { dst[i] = bfloat16ToFloat(src.u16(2 * i)) }
    case .q4_0:
        for b in 0..<blocks { dequantizeQ4_0(src + b * bb, dst + 32 * b) }
    case .q4_1:
        for b in 0..<blocks { dequantizeQ4_1(src + b * bb, dst + 32 * b) }
    case .q5_0:
        for b in 0..<blocks { dequantizeQ5_0(src + b * bb, dst + 32 * b) }
    case .q5_1:
        for b in 0..<blocks { dequantizeQ5_1(src + b * bb, dst + 32 * b) }
    case .q8_0:
        for b in 0..<blocks { dequantizeQ8_0(src + b * bb, dst + 32 * b) }
    case .q2_K:
        for b in 0..<blocks { dequantizeQ2_K(src + b * bb, dst + 256 * b) }
    case .q3_K:
        for b in 0..<blocks { dequantizeQ3_K(src + b * bb, dst + 256 * b) }
    case .q4_K:
        for b in 0..<blocks { dequantizeQ4_K(src + b * bb, dst + 256 * b) }
    case .q5_K:
        for b in 0..<blocks { dequantizeQ5_K(src + b * bb, dst + 256 * b) }
    case .q6_K:
        for b in 0..<blocks { dequantizeQ6_K(src + b * bb, dst + 256 * b) }
    case .q8_K:
        for b in 0..<blocks { dequantizeQ8_K(src + b * bb, dst + 256 * b) }
    default:
        throw .unsupported(type: type, tensor: nil)
    }
}

// MARK: 32-element blocks
//
// Q4_0: d:f16, qs[16]           value = d * (nibble - 8)
// Q4_1: d:f16, m:f16, qs[16]    value = d * nibble + m
// Q5_0: d:f16, qh:u32, qs[16]   value = d * ((nibble | highbit << 4) - 16)
// Q5_1: d:f16, m:f16, qh, qs    value = d * (nibble | highbit << 4) + m
// Q8_0: d:f16, qs[32] int8      value = d * q
// Element j < 16 is the low nibble of qs[j], element j + 16 its high nibble; bit j of qh is the
// fifth bit of element j.

@inline(__always) func dequantizeQ4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(0)
    for j in 0..<16 {
        let q = x.byte(2 + j)
        y[j] = Float(Int32(q & 0x0F) - 8) * d
        y[j + 16] = Float(Int32(q >> 4) - 8) * d
    }
}

@inline(__always) func dequantizeQ4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(0), m = x.half(2)
    for j in 0..<16 {
        let q = x.byte(4 + j)
        y[j] = Float(q & 0x0F) * d + m
        y[j + 16] = Float(q >> 4) * d + m
    }
}

@inline(__always) func dequantizeQ5_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(0)
    let qh = x.u32(2)
    for j in 0..<16 {
        let q = UInt32(x.byte(6 + j))
        let lo = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
        let hi = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
        y[j] = Float(Int32(lo) - 16) * d
        y[j + 16] = Float(Int32(hi) - 16) * d
    }
}

@inline(__always) func dequantizeQ5_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(0), m = x.half(2)
    let qh = x.u32(4)
    for j in 0..<16 {
        let q = UInt32(x.byte(8 + j))
        let lo = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
        let hi = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
        y[j] = Float(lo) * d + m
        y[j + 16] = Float(hi) * d + m
    }
}

@inline(__always) func dequantizeQ8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(0)
    for j in 0..<32 { y[j] = Float(x.int8(2 + j)) * d }
}
