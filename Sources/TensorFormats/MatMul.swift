/// Matrix-vector and matrix-matrix products of ggml weight matrices with prepared activations.
///
/// Weights are row-major as in GGUF: row r (one output feature) is `type.byteCount(elements:
/// cols)` bytes at `weights + r * rowBytes`. Calls take a range of output rows so a caller can
/// split a matrix across threads; they allocate nothing and only read shared state.

extension GGMLType {
    /// Whether `matmul`/`vecDot` have a kernel for this weight type.
    public var hasDotKernel: Bool { activationFormat != nil }
}

/// The dot product of one weight row (`activations.count` elements of `type`) with activation
/// row `row`. `activations.format` must be `type.activationFormat`.
public func vecDot(
    _ type: GGMLType, weightRow: UnsafeRawPointer, activations: QuantizedActivations, row: Int = 0
) throws(TensorFormatError) -> Float {
    var out: Float = 0
    try matmul(weights: weightRow, type: type, rows: 0..<1, input: activations, batch: row..<(row + 1),
               output: &out, outputStride: 0)
    return out
}

/// For each weight row `r` in `rows` and activation row `b` in `batch`:
/// `output[(b - batch.lowerBound) * outputStride + r] = dot(weights row r, activations row b)`.
///
/// The number of columns is `input.count`; `input.format` must be `type.activationFormat`
/// (checked). Throws `.unsupported` for a weight type without a kernel. Each weight row is read
/// once per call and reused for the whole batch while it is in L1.
public func matmul(
    weights: UnsafeRawPointer, type: GGMLType, rows: Range<Int>, input: QuantizedActivations,
    batch: Range<Int>? = nil, output: UnsafeMutablePointer<Float>, outputStride: Int
) throws(TensorFormatError) {
    guard let format = type.activationFormat else { throw .unsupported(type: type, tensor: nil) }
    precondition(format == input.format, "\(type) weights need \(format) activations, got \(input.format)")
    let cols = input.count
    guard let rowBytes = type.byteCount(elements: cols) else { throw .notWholeBlocks(type: type, count: cols) }
    let batch = batch ?? 0..<input.capacity
    precondition(batch.lowerBound >= 0 && batch.upperBound <= input.capacity, "batch \(batch) out of range")
    let blocks = cols / type.blockSize

    @inline(__always) func run(_ kernel: (UnsafeRawPointer, ActivationRow, Int) -> Float) {
        for r in rows {
            let w = weights + r * rowBytes
            for b in batch {
                output[(b - batch.lowerBound) * outputStride + r] = kernel(w, input.row(b), blocks)
            }
        }
    }
    /// As `run`, taking activation rows four at a time where a 4-row kernel exists.
    @inline(__always) func run4(
        _ kernel: (UnsafeRawPointer, ActivationRow, Int) -> Float,
        _ kernel4: (UnsafeRawPointer, ActivationRows4, Int) -> SIMD4<Float>
    ) {
        for r in rows {
            let w = weights + r * rowBytes
            var b = batch.lowerBound
            while b + 4 <= batch.upperBound {
                let v = kernel4(w, (input.row(b), input.row(b + 1), input.row(b + 2), input.row(b + 3)), blocks)
                for i in 0..<4 { output[(b + i - batch.lowerBound) * outputStride + r] = v[i] }
                b += 4
            }
            while b < batch.upperBound {
                output[(b - batch.lowerBound) * outputStride + r] = kernel(w, input.row(b), blocks)
                b += 1
            }
        }
    }
    switch type {
    case .q8_0: run4({ dotQ8_0($0, $1, blocks: $2) }, { dotQ8_0x4($0, $1, blocks: $2) })
    case .q4_0: run4({ dotQ4_0($0, $1, blocks: $2) }, { dotQ4_0x4($0, $1, blocks: $2) })
    case .q4_1: run4({ dotQ4_1($0, $1, blocks: $2) }, { dotQ4_1x4($0, $1, blocks: $2) })
    case .q5_0: run4({ dotQ5_0($0, $1, blocks: $2) }, { dotQ5_0x4($0, $1, blocks: $2) })
    case .q5_1: run4({ dotQ5_1($0, $1, blocks: $2) }, { dotQ5_1x4($0, $1, blocks: $2) })
    case .q2_K: run { dotQ2_K($0, $1, blocks: $2) }
    case .q3_K: run { dotQ3_K($0, $1, blocks: $2) }
    case .q4_K: run4({ dotQ4_K($0, $1, blocks: $2) }, { dotQ4_Kx4($0, $1, blocks: $2) })
    case .q5_K: run { dotQ5_K($0, $1, blocks: $2) }
    case .q6_K: run4({ dotQ6_K($0, $1, blocks: $2) }, { dotQ6_Kx4($0, $1, blocks: $2) })
    case .f32: run { dotF32($0, $1.scales, count: $2) }
    case .f16: run { dotF16($0, $1.scales, count: $2) }
    case .bf16: run { dotBF16($0, $1.scales, count: $2) }
    default: throw .unsupported(type: type, tensor: nil)
    }
}

/// F32 weights: 8 lanes x 2 accumulators. Multiply then add (not `addProduct`): without FMA in
/// the target CPU, a fused multiply-add is a library call per lane.
@inline(__always) func dotF32(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = F32x8(), acc1 = F32x8()
    let xr = UnsafeRawPointer(x)
    var i = 0
    while i + 16 <= count {
        acc0 += w.loadUnaligned(fromByteOffset: 4 * i, as: F32x8.self) * xr.loadUnaligned(fromByteOffset: 4 * i, as: F32x8.self)
        acc1 += w.loadUnaligned(fromByteOffset: 4 * i + 32, as: F32x8.self) * xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: F32x8.self)
        i += 16
    }
    var tail: Float = 0
    while i < count {
        tail += w.f32(4 * i) * x[i]
        i += 1
    }
    return laneSum(acc0 + acc1) + tail
}

/// F16 weights (scalar conversion; no model in scope has F16 matrices).
@inline(__always) func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = F32x8()
    var i = 0
    while i + 8 <= count {
        var v = F32x8()
        for l in 0..<8 { v[l] = w.half(2 * (i + l)) }
        acc += v * UnsafeRawPointer(x + i).loadUnaligned(as: F32x8.self)
        i += 8
    }
    var tail: Float = 0
    while i < count {
        tail += w.half(2 * i) * x[i]
        i += 1
    }
    return laneSum(acc) + tail
}

@inline(__always) func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc: Float = 0
    for i in 0..<count { acc += bfloat16ToFloat(w.u16(2 * i)) * x[i] }
    return acc
}
