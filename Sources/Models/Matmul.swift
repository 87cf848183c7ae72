import TensorFormats

/// A batch of activation rows about to be multiplied with weight matrices.
///
/// Quantized weights are multiplied with activations quantized on the fly to 8 bits (Q8_0 or
/// Q8_K, whichever the weight type's kernel takes), exactly as llama.cpp does, so the rounding
/// matches the reference. Each format is prepared at most once per input (Q, K and V share the
/// same normalized input), into buffers that `ActivationBuffers` keeps across calls.
final class MatmulInput {
    let x: UnsafePointer<Float>
    let n: Int
    let cols: Int
    let buffers: ActivationBuffers
    private let pool: ThreadPool
    private var prepared: [ActivationFormat: QuantizedActivations] = [:]

    init(_ x: UnsafePointer<Float>, n: Int, cols: Int, buffers: ActivationBuffers, pool: ThreadPool) {
        self.x = x
        self.n = n
        self.cols = cols
        self.buffers = buffers
        self.pool = pool
    }

    func activations(_ format: ActivationFormat) -> QuantizedActivations {
        if let a = prepared[format] { return a }
        let a = buffers.buffer(format: format, cols: cols, rows: n)
        let x = self.x, cols = self.cols
        pool.parallelFor(n) { range, _ in
            for i in range { a.quantize(row: i, from: x + i * cols) }
        }
        prepared[format] = a
        return a
    }

    private var rounded: [ActivationFormat: UnsafeMutablePointer<Float>] = [:]

    /// The rows as `format` rounds them (quantized to 8 bits and back), `[n][cols]` floats:
    /// the input of `Gemm`, so prefill sees the same activations as the dot kernels.
    func roundedRows(_ format: ActivationFormat) -> UnsafePointer<Float> {
        if format == .f32 { return x }
        if let r = rounded[format] { return UnsafePointer(r) }
        let a = activations(format)
        let r = buffers.floats(format: format, cols: cols, rows: n)
        let cols = self.cols
        pool.parallelFor(n) { range, _ in
            for i in range { a.values(row: i, into: r + i * cols) }
        }
        rounded[format] = r
        return UnsafePointer(r)
    }
}

/// Quantized-activation buffers by (format, row length), grown to the largest batch seen.
final class ActivationBuffers: @unchecked Sendable {
    private struct Key: Hashable {
        let format: ActivationFormat
        let cols: Int
    }
    private var buffers: [Key: QuantizedActivations] = [:]

    func buffer(format: ActivationFormat, cols: Int, rows: Int) -> QuantizedActivations {
        let key = Key(format: format, cols: cols)
        if let b = buffers[key], b.capacity >= rows { return b }
        // Row lengths of loaded matrices are whole blocks, so this cannot fail.
        let b = try! QuantizedActivations(format: format, count: cols, capacity: max(rows, 16))
        buffers[key] = b
        return b
    }

    private var panels: Scratch?
    private var floatBuffers: [Key: (UnsafeMutablePointer<Float>, Int)] = [:]

    /// An f32 buffer of `rows x cols` for `format`'s rounded activations, grown on demand.
    func floats(format: ActivationFormat, cols: Int, rows: Int) -> UnsafeMutablePointer<Float> {
        let key = Key(format: format, cols: cols)
        if let (p, cap) = floatBuffers[key], cap >= rows { return p }
        floatBuffers[key]?.0.deallocate()
        let cap = max(rows, 16)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: cap * cols)
        floatBuffers[key] = (p, cap)
        return p
    }

    deinit { for (p, _) in floatBuffers.values { p.deallocate() } }

    /// Per-thread panel scratch for `Gemm` on matrices of up to `cols` columns.
    func panelScratch(threads: Int, cols: Int) -> Scratch {
        let need = Gemm.scratchFloats(cols: cols)
        if let p = panels, p.floatsPerThread >= need { return p }
        let p = Scratch(threads: threads, floatsPerThread: need)
        panels = p
        return p
    }
}

extension WeightMatrix {
    /// `y[t][r - rowRange.lowerBound] = dot(row r, x[t])` for every token `t` of the input and
    /// row `r` in `rowRange` (default: all rows); `y` rows are `yStride` apart. Rows are split
    /// across the pool.
    func multiply(_ input: MatmulInput, into y: UnsafeMutablePointer<Float>, yStride: Int,
                  rowRange: Range<Int>? = nil, pool: ThreadPool) {
        precondition(input.cols == cols)
        let range = rowRange ?? 0..<rows
        if input.n >= Gemm.minTokens {
            multiplyBatch(input.roundedRows(type.activationFormat!), n: input.n, into: y, yStride: yStride, rowRange: range, pool: pool,
                          scratch: input.buffers.panelScratch(threads: pool.threadCount, cols: cols))
            return
        }
        let base = self.base, type = self.type, n = input.n
        let out = y - range.lowerBound
        let acts = input.activations(type.activationFormat!)
        pool.parallelFor(range.count, minChunk: 16) { chunk, _ in
            let rows = (range.lowerBound + chunk.lowerBound)..<(range.lowerBound + chunk.upperBound)
            // Types were checked at load (`hasDotKernel`), so this cannot fail.
            try! matmul(weights: base, type: type, rows: rows, input: acts, batch: 0..<n,
                        output: out, outputStride: yStride)
        }
    }
}

/// Per-thread scratch buffers, grown on demand and reused across calls.
public final class Scratch: @unchecked Sendable {
    private var buffers: [UnsafeMutablePointer<Float>]
    public let floatsPerThread: Int

    public init(threads: Int, floatsPerThread: Int) {
        self.floatsPerThread = floatsPerThread
        buffers = (0..<threads).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: floatsPerThread)
            p.initialize(repeating: 0, count: floatsPerThread)
            return p
        }
    }

    deinit { for b in buffers { b.deallocate() } }

    @inline(__always) public func buffer(_ worker: Int) -> UnsafeMutablePointer<Float> { buffers[worker] }
}
