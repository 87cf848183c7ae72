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
    guard type.canAddScaled else { throw .unsupported(type: type, tensor: nil) }
    guard count >= 0, count % type.blockSize == 0 else { throw .notWholeBlocks(type: type, count: count) }
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
    case .q8_0:
        for b in 0..<count / 32 {
            let blk = row + 34 &* b
            let d = blk.half(0)
            // Widened lane by lane (one sign-extending move each); d * q as in `dequantize`.
            for c in 0..<4 {
                let v = F32x8(Float(blk.int8(2 + 8 * c)), Float(blk.int8(3 + 8 * c)), Float(blk.int8(4 + 8 * c)),
                              Float(blk.int8(5 + 8 * c)), Float(blk.int8(6 + 8 * c)), Float(blk.int8(7 + 8 * c)),
                              Float(blk.int8(8 + 8 * c)), Float(blk.int8(9 + 8 * c)))
                add(v * d, at: 32 &* b &+ 8 &* c)
            }
        }
    case .q4_0:
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { tmp in
            for b in 0..<count / 32 {
                dequantizeQ4_0(row + 18 &* b, tmp.baseAddress!)
                for c in 0..<4 { add(UnsafeRawPointer(tmp.baseAddress! + 8 * c).loadUnaligned(as: F32x8.self), at: 32 &* b &+ 8 &* c) }
            }
        }
    default:
        throw .unsupported(type: type, tensor: nil)
    }
}
