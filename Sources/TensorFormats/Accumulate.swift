/// Scaled accumulation of a stored row into floats (`acc += scale * row`): the inner step of
/// attention over a quantized or half-precision V cache, without dequantizing into a buffer.

extension GGMLType {
    /// Whether `addScaled` handles this type.
    public var canAddScaled: Bool {
        switch self {
        case .f32, .f16, .q8_0, .q4_0: true
        default: false
        }
    }
}

/// `acc[i] += scale * row[i]` for `count` elements of `type` at `row` (F32, F16, Q8_0, Q4_0;
/// `count` a whole number of blocks). Each element is first dequantized exactly as `dequantize`
/// does, then multiplied by `scale` and added.
public func addScaled(
    _ type: GGMLType, row: UnsafeRawPointer, count: Int, scale: Float, into acc: UnsafeMutablePointer<Float>
) throws(TensorFormatError) {
    try checkAddScaled(type, count: count)
    addScaledRow(type, row, count, scale, acc)
}

/// `addScaled` of `rows` rows in turn, row `u` at `base + u * rowStride` with `scale`
/// `weights[u]`, skipping zero weights: the same floats as one `addScaled` call per row, without
/// a call per row (attention over a quantized V cache adds thousands of short rows per head).
public func addScaledRows(
    _ type: GGMLType, base: UnsafeRawPointer, rowStride: Int, rows: Int, count: Int,
    weights: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>
) throws(TensorFormatError) {
    try checkAddScaled(type, count: count)
    guard type == .q8_0 || type == .q4_0 else {
        for u in 0..<rows where weights[u] != 0 { addScaledRow(type, base + u &* rowStride, count, weights[u], acc) }
        return
    }
    // A block column at a time: its 32 sums stay in registers while every row adds into them,
    // in row order (the same floats; through memory each row waited on the last one's stores).
    let out = UnsafeMutableRawPointer(acc)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { tmp in
        for b in 0..<count / 32 {
            let at = out + 128 &* b
            var a0 = at.loadUnaligned(as: F32x8.self), a1 = at.loadUnaligned(fromByteOffset: 32, as: F32x8.self)
            var a2 = at.loadUnaligned(fromByteOffset: 64, as: F32x8.self), a3 = at.loadUnaligned(fromByteOffset: 96, as: F32x8.self)
            var blk = base + type.blockBytes &* b
            for u in 0..<rows {
                defer { blk += rowStride }
                let w = weights[u]
                if w == 0 { continue }
                let v = blockValues(type, blk, tmp.baseAddress!)
                a0 = a0 + v.0 * w
                a1 = a1 + v.1 * w
                a2 = a2 + v.2 * w
                a3 = a3 + v.3 * w
            }
            at.storeBytes(of: a0, as: F32x8.self)
            at.storeBytes(of: a1, toByteOffset: 32, as: F32x8.self)
            at.storeBytes(of: a2, toByteOffset: 64, as: F32x8.self)
            at.storeBytes(of: a3, toByteOffset: 96, as: F32x8.self)
        }
    }
}

/// A Q8_0 or Q4_0 block's 32 values as `dequantize` gives them, eight to a vector (`tmp`: room
/// for 32 floats). Q8_0's bytes are widened eight at once (exact), then times d.
@inline(__always)
private func blockValues(_ type: GGMLType, _ blk: UnsafeRawPointer,
                         _ tmp: UnsafeMutablePointer<Float>) -> (F32x8, F32x8, F32x8, F32x8) {
    if type == .q8_0 {
        let d = blk.half(0)
        @inline(__always) func q(_ c: Int) -> F32x8 {
            F32x8(SIMD8<Int32>(truncatingIfNeeded: blk.loadUnaligned(fromByteOffset: 2 &+ 8 &* c, as: SIMD8<Int8>.self))) * d
        }
        return (q(0), q(1), q(2), q(3))
    }
    dequantizeQ4_0(blk, tmp)
    let v = UnsafeRawPointer(tmp)
    return (v.loadUnaligned(as: F32x8.self), v.loadUnaligned(fromByteOffset: 32, as: F32x8.self),
            v.loadUnaligned(fromByteOffset: 64, as: F32x8.self), v.loadUnaligned(fromByteOffset: 96, as: F32x8.self))
}

private func checkAddScaled(_ type: GGMLType, count: Int) throws(TensorFormatError) {
    guard type.canAddScaled else { throw .unsupported(type: type, tensor: nil) }
    guard count >= 0, count % type.blockSize == 0 else { throw .notWholeBlocks(type: type, count: count) }
}

@inline(__always)
private func addScaledRow(_ type: GGMLType, _ row: UnsafeRawPointer, _ count: Int, _ scale: Float,
                          _ acc: UnsafeMutablePointer<Float>) {
    let out = UnsafeMutableRawPointer(acc)
    @inline(__always) func add(_ v: F32x8, at i: Int) {
        let p = out + 4 &* i
        p.storeBytes(of: p.loadUnaligned(as: F32x8.self) + v * scale, as: F32x8.self)
    }
    switch type {
    case .f32:
        var i = 0
        while i + 8 <= count {
            add(row.loadUnaligned(fromByteOffset: 4 &* i, as: F32x8.self), at: i)
            i &+= 8
        }
        while i < count {
            acc[i] += scale * row.f32(4 * i)
            i += 1
        }
    case .f16:
        var i = 0
        while i + 8 <= count {
            add(load8Halves(row + 2 &* i), at: i)
            i &+= 8
        }
        while i < count {
            acc[i] += scale * row.half(2 * i)
            i += 1
        }
    case .q8_0, .q4_0:
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { tmp in
            for b in 0..<count / 32 {
                let v = blockValues(type, row + type.blockBytes &* b, tmp.baseAddress!)
                add(v.0, at: 32 &* b)
                add(v.1, at: 32 &* b &+ 8)
                add(v.2, at: 32 &* b &+ 16)
                add(v.3, at: 32 &* b &+ 24)
            }
        }
    default:
        preconditionFailure("checked by checkAddScaled")
    }
}
