/// Quantization from `Float` to ggml blocks, with the rounding of ggml's reference quantizers
/// (`quantize_row_q8_0_ref`, `quantize_row_q4_0_ref`, `quantize_row_q8_K_ref`), so a KV cache or
/// activation row holds exactly the integers llama.cpp would compute.

extension GGMLType {
    /// Whether `quantize` can write this type.
    public var canQuantize: Bool {
        switch self {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q8_K: true
        default: false
        }
    }
}

/// Quantizes `count` floats into blocks of `type` at `dst` (`type.byteCount(elements: count)` bytes).
public func quantize(
    _ type: GGMLType, from src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer
) throws(TensorFormatError) {
    guard type.canQuantize else { throw .unsupported(type: type, tensor: nil) }
    guard count >= 0, count % type.blockSize == 0 else { throw .notWholeBlocks(type: type, count: count) }
    let bb = type.blockBytes
    switch type {
    case .f32:
        dst.copyMemory(from: src, byteCount: 4 * count)
    case .f16:
        for i in 0..<count { dst.storeBytes(of: floatToHalf(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
    case .bf16:
        for i in 0..<count { dst.storeBytes(of: floatToBFloat16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
    case .q8_0:
        for b in 0..<count / 32 {
            let block = dst + b * bb
            let d = quantizeQ8_0Block(src + 32 * b, into: (block + 2).assumingMemoryBound(to: Int8.self))
            block.storeBytes(of: d.littleEndian, as: UInt16.self)
        }
    case .q4_0:
        for b in 0..<count / 32 { quantizeQ4_0Block(src + 32 * b, into: dst + b * bb) }
    case .q8_K:
        for b in 0..<count / 256 {
            let block = dst + b * bb
            let qs = (block + 4).assumingMemoryBound(to: Int8.self)
            let d = quantizeQ8_KBlock(src + 256 * b, into: qs) { group, sum in
                (block + 260).storeBytes(of: Int16(truncatingIfNeeded: sum).littleEndian, toByteOffset: 2 * group, as: Int16.self)
            }
            block.storeBytes(of: d.bitPattern.littleEndian, as: UInt32.self)
        }
    default:
        throw .unsupported(type: type, tensor: nil)
    }
}

/// Float to bfloat16 with round-to-nearest-even and quiet NaNs, as `ggml_compute_fp32_to_bf16`.
@inline(__always)
public func floatToBFloat16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if u & 0x7fff_ffff > 0x7f80_0000 { return UInt16((u >> 16) | 64) }
    return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)
}

/// ggml's `roundf`: to nearest, ties away from zero. NaN becomes 0 rather than trapping.
@inline(__always) func roundAway(_ v: Float) -> Int32 {
    v.isNaN ? 0 : Int32(v.rounded(.toNearestOrAwayFromZero))
}

/// One Q8_0 block: d = amax / 127 (stored as f16), q = roundf(x / d), the scale used being the
/// full-precision `1/d` as in the reference. Returns the f16 bits of d.
@inline(__always)
func quantizeQ8_0Block(_ x: UnsafePointer<Float>, into qs: UnsafeMutablePointer<Int8>) -> UInt16 {
    let (d, q) = quantizeQ8_0Lanes(x)
    storeInt8(q, qs)
    return d
}

/// One Q4_0 block: the value of largest magnitude (first one, sign kept) maps to -8.
@inline(__always)
func quantizeQ4_0Block(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
    var amax: Float = 0, maxValue: Float = 0
    for j in 0..<32 where amax < abs(x[j]) {
        amax = abs(x[j])
        maxValue = x[j]
    }
    let d = maxValue / -8
    let id: Float = d != 0 ? 1 / d : 0
    block.storeBytes(of: floatToHalf(d).littleEndian, as: UInt16.self)
    @inline(__always) func level(_ v: Float) -> UInt8 {
        // (int8_t)(v + 8.5f) truncates toward zero; then MIN(15, ...).
        let t = v + 8.5
        return t.isNaN ? 8 : UInt8(min(15, max(0, Int32(t.rounded(.towardZero)))))
    }
    for j in 0..<16 {
        block.storeBytes(of: level(x[j] * id) | (level(x[j + 16] * id) << 4), toByteOffset: 2 + j, as: UInt8.self)
    }
}

/// One Q8_K block: the value of largest magnitude (first one) maps to -127, rounding to nearest
/// even, d = 1 / iscale. `groupSum(g, sum)` receives the sum of each 16 quants. Returns d.
@inline(__always)
func quantizeQ8_KBlock(
    _ x: UnsafePointer<Float>, into qs: UnsafeMutablePointer<Int8>, groupSum: (Int, Int32) -> Void
) -> Float {
    // The first value of largest magnitude keeps its sign: find the magnitude 32 at a time,
    // then the first element that has it.
    var amax: Float = 0
    for c in 0..<8 { amax = max(amax, absMax32(x + 32 * c)) }
    var maxValue: Float = 0
    for j in 0..<256 where abs(x[j]) == amax {
        maxValue = x[j]
        break
    }
    guard amax != 0 && !amax.isNaN else {
        qs.update(repeating: 0, count: 256)
        for g in 0..<16 { groupSum(g, 0) }
        return 0
    }
    let iscale = -127 / maxValue
    for c in 0..<8 {
        let q = quantizeQ8_KLanes(x + 32 * c, iscale: iscale)
        storeInt8(q, qs + 32 * c)
        groupSum(2 * c, (q.0 &+ q.1).wrappedSum())
        groupSum(2 * c + 1, (q.2 &+ q.3).wrappedSum())
    }
    return 1 / iscale
}
