/// Matrix-vector and matrix-matrix products of ggml weight matrices with prepared activations.
///
/// Weights are row-major as in GGUF: row r (one output feature) is `type.byteCount(elements:
/// cols)` bytes at `weights + r * rowBytes`. Calls take a range of output rows so a caller can
/// split a matrix across threads; they allocate nothing and only read shared state.
///
/// Typical use by an engine, for y = W x with W of type `t`, `rows` x `cols`:
///
///     let acts = try QuantizedActivations(format: t.activationFormat!, count: cols, capacity: tokens)
///     for i in 0..<tokens { acts.quantize(row: i, from: x + i * cols) }   // once per input
///     // on each thread, for its share of the rows:
///     try matmul(weights: w, type: t, rows: share, input: acts, output: y, outputStride: rows)
///
/// Activations in one format serve every weight type that takes that format (Q8_0 for Q4_0,
/// Q4_1, Q5_0, Q5_1, Q8_0; Q8_K for the K-quants; F32 for F32/F16/BF16). Four or more activation
/// rows use kernels that unpack each weight block once for four rows (32-element formats, Q4_K,
/// Q6_K).

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
        // Activation rows are taken in tiles of about 64 KB (a multiple of 4 rows), each tile
        // against every weight row: a tile stays in L1/L2 while the weight rows stream past,
        // instead of every weight row streaming the whole batch from L3.
        let tileRows = max(4, (65_536 / (2 * cols)) & ~3)
        var tileStart = batch.lowerBound
        while tileStart < batch.upperBound {
            let tileEnd = min(batch.upperBound, tileStart + tileRows)
            for r in rows {
                let w = weights + r * rowBytes
                var b = tileStart
                while b + 4 <= tileEnd {
                    let v = kernel4(w, (input.row(b), input.row(b + 1), input.row(b + 2), input.row(b + 3)), blocks)
                    for i in 0..<4 { output[(b + i - batch.lowerBound) * outputStride + r] = v[i] }
                    b += 4
                }
                while b < tileEnd {
                    output[(b - batch.lowerBound) * outputStride + r] = kernel(w, input.row(b), blocks)
                    b += 1
                }
            }
            tileStart = tileEnd
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

/// F16 weights (e.g. an F16 KV cache): halves widened 8 at a time.
@inline(__always) func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = F32x8(), acc1 = F32x8()
    let xr = UnsafeRawPointer(x)
    var i = 0
    while i + 16 <= count {
        acc0 += load8Halves(w + 2 &* i) * xr.loadUnaligned(fromByteOffset: 4 &* i, as: F32x8.self)
        acc1 += load8Halves(w + (2 &* i &+ 16)) * xr.loadUnaligned(fromByteOffset: 4 &* i &+ 32, as: F32x8.self)
        i &+= 16
    }
    var tail: Float = 0
    while i < count {
        tail += w.half(2 * i) * x[i]
        i += 1
    }
    return laneSum(acc0 + acc1) + tail
}

@inline(__always) func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc: Float = 0
    for i in 0..<count { acc += bfloat16ToFloat(w.u16(2 * i)) * x[i] }
    return acc
}
