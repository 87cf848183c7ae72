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
    let (_, maxValue) = signedMax32(x)
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

/// The largest |x| of 32 values and the first value that has it, with its sign.
@inline(__always) func signedMax32(_ x: UnsafePointer<Float>) -> (amax: Float, value: Float) {
    var amax: Float = 0, value: Float = 0
    for j in 0..<32 where amax < abs(x[j]) {
        amax = abs(x[j])
        value = x[j]
    }
    return (amax, value)
}

/// Q4_0 blocks with the scale chosen to minimize the squared error, for KV caches.
///
/// The reference quantizer maps the value of largest magnitude to -8 and rounds the rest; for
/// a block with one outlier that wastes most of the 16 levels. Here 19 inverse scales around
/// the reference one are tried (as ggml's `make_qx_quants` does for model weights), each with
/// its least-squares scale, and the best is kept; the quants are then rounded with the stored
/// f16 scale. The blocks are ordinary Q4_0; where the reference's has less error (the fitted
/// scale's f16 rounding can cost more than the fit gained) it is kept.
public func quantizeQ4_0Fitted(from src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
    precondition(count % 32 == 0)
    for b in 0..<count / 32 { quantizeQ4_0FittedBlock(src + 32 * b, into: dst + 18 * b) }
}

@inline(__always)
func quantizeQ4_0FittedBlock(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
    let (amax, maxValue) = signedMax32(x)
    guard amax > 0, amax.isFinite else { return quantizeQ4_0Block(x, into: block) }
    let p = UnsafeRawPointer(x)
    let v = (p.loadUnaligned(as: F32x8.self), p.loadUnaligned(fromByteOffset: 32, as: F32x8.self),
             p.loadUnaligned(fromByteOffset: 64, as: F32x8.self), p.loadUnaligned(fromByteOffset: 96, as: F32x8.self))
    /// round(x · iscale) + 8 clamped to 0...15, as floats. Adding 1.5 · 2^23 leaves the rounded
    /// value in the low mantissa bits; the clamp is integer arithmetic (the standard library's
    /// `pointwiseMin` is a generic per-lane loop).
    @inline(__always) func levels(_ x: F32x8, _ iscale: F32x8) -> F32x8 {
        let rounded = unsafeBitCast(x * iscale + 12_582_912, to: I32x8.self) &- 0x4B40_0000
        var a = rounded &+ 8
        a &= ~(a &>> 31)
        var b = 15 &- a
        b &= ~(b &>> 31)
        return toFloat(15 &- b)
    }
    var bestScale: Float = 0, bestFit: Float = -1
    for i in -9...9 {
        let iscale = F32x8(repeating: -(8 + 0.1 * Float(i)) / maxValue), eight = F32x8(repeating: 8)
        let l0 = levels(v.0, iscale) - eight, l1 = levels(v.1, iscale) - eight
        let l2 = levels(v.2, iscale) - eight, l3 = levels(v.3, iscale) - eight
        let lx = (l0 * v.0 + l1 * v.1 + l2 * v.2 + l3 * v.3).sum()
        let l2sum = (l0 * l0 + l1 * l1 + l2 * l2 + l3 * l3).sum()
        // With the least-squares scale lx / l2sum the squared error is Σx² - lx² / l2sum.
        guard l2sum > 0 else { continue }
        let fit = lx * lx / l2sum
        if fit > bestFit {
            bestFit = fit
            bestScale = lx / l2sum
        }
    }
    let dBits = floatToHalf(bestScale)
    let d = halfToFloat(dBits)
    guard d != 0, d.isFinite else { return quantizeQ4_0Block(x, into: block) }
    let id = F32x8(repeating: 1 / d), dv = F32x8(repeating: d), eight = F32x8(repeating: 8)
    let q = (levels(v.0, id), levels(v.1, id), levels(v.2, id), levels(v.3, id))
    @inline(__always) func error(_ x: F32x8, _ q: F32x8) -> F32x8 {
        let e = x - dv * (q - eight)
        return e * e
    }
    let fittedError = (error(v.0, q.0) + error(v.1, q.1) + error(v.2, q.2) + error(v.3, q.3)).sum()
    // The reference block, when the f16 rounding of the fitted scale made it the better one.
    quantizeQ4_0Block(x, into: block)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { r in
        dequantizeQ4_0(UnsafeRawPointer(block), r.baseAddress!)
        var referenceError: Float = 0
        for j in 0..<32 { referenceError += (x[j] - r[j]) * (x[j] - r[j]) }
        guard fittedError < referenceError else { return }
        block.storeBytes(of: dBits.littleEndian, as: UInt16.self)
        for j in 0..<16 {
            let lo = UInt8(j < 8 ? q.0[j] : q.1[j - 8]), hi = UInt8(j < 8 ? q.2[j] : q.3[j - 8])
            block.storeBytes(of: lo | (hi << 4), toByteOffset: 2 + j, as: UInt8.self)
        }
    }
}
