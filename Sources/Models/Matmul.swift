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
    private var expanded: [ActivationFormat: UnsafeMutablePointer<Float>] = [:]

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

    /// The quantized activations expanded back to floats (`[n][cols]`): what the integer
    /// kernels multiply with, exactly, so a float product with decoded weight rows gives the
    /// same sums up to float rounding.
    func expandedActivations(_ format: ActivationFormat) -> UnsafeMutablePointer<Float> {
        if let e = expanded[format] { return e }
        let a = activations(format)
        let e = buffers.expandedBuffer(format: format, cols: cols, rows: n)
        let cols = self.cols
        pool.parallelFor(n) { range, _ in
            for i in range { a.values(row: i, into: e + i * cols) }
        }
        expanded[format] = e
        return e
    }
}

/// Quantized-activation buffers by (format, row length), grown to the largest batch seen.
final class ActivationBuffers: @unchecked Sendable {
    private struct Key: Hashable {
        let format: ActivationFormat
        let cols: Int
    }
    private var buffers: [Key: QuantizedActivations] = [:]
    private var floats: [Key: (UnsafeMutablePointer<Float>, Int)] = [:]

    deinit { for (p, _) in floats.values { p.deallocate() } }

    func expandedBuffer(format: ActivationFormat, cols: Int, rows: Int) -> UnsafeMutablePointer<Float> {
        let key = Key(format: format, cols: cols)
        if let (p, cap) = floats[key], cap >= rows { return p }
        if let (p, _) = floats[key] { p.deallocate() }
        let cap = max(rows, 16)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: cap * cols)
        floats[key] = (p, cap)
        return p
    }

    private var panels: Scratch?

    /// Per-thread panel scratch for `Gemm` on matrices of up to `cols` columns.
    func panelScratch(threads: Int, cols: Int) -> Scratch {
        let need = Gemm.scratchFloats(cols: cols)
        if let p = panels, p.floatsPerThread >= need { return p }
        let p = Scratch(threads: threads, floatsPerThread: need)
        panels = p
        return p
    }

    func buffer(format: ActivationFormat, cols: Int, rows: Int) -> QuantizedActivations {
        let key = Key(format: format, cols: cols)
        if let b = buffers[key], b.capacity >= rows { return b }
        // Row lengths of loaded matrices are whole blocks, so this cannot fail.
        let b = try! QuantizedActivations(format: format, count: cols, capacity: max(rows, 16))
        buffers[key] = b
        return b
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
            let x = UnsafePointer(input.expandedActivations(type.activationFormat!))
            multiplyBatch(x, n: input.n, into: y, yStride: yStride, rowRange: range, pool: pool,
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

/// One output of `multiplyAll`: a matrix and where its rows go.
struct MatmulTarget {
    let weights: WeightMatrix
    let y: UnsafeMutablePointer<Float>
    let yStride: Int
}

extension WeightMatrix {
    /// Several matrices times the same input (Q, K and V; gate and up) as one parallel job:
    /// for a single decoded token each product is only tens of microseconds, so one hand-off
    /// to the pool instead of three saves most of the synchronization. Batches of `Gemm` size
    /// run matrix by matrix.
    static func multiplyAll(_ targets: [MatmulTarget], input: MatmulInput, pool: ThreadPool) {
        if input.n >= Gemm.minTokens || targets.count == 1 {
            for t in targets { t.weights.multiply(input, into: t.y, yStride: t.yStride, pool: pool) }
            return
        }
        let acts = targets.map { input.activations($0.weights.type.activationFormat!) }
        var starts: [Int] = [0]
        for t in targets { starts.append(starts.last! + t.weights.rows) }
        let total = starts.last!, n = input.n
        pool.parallelFor(total, minChunk: 16) { chunk, _ in
            var lo = chunk.lowerBound
            var m = 0
            while lo < chunk.upperBound {
                while starts[m + 1] <= lo { m += 1 }
                let hi = min(chunk.upperBound, starts[m + 1])
                let t = targets[m]
                try! matmul(weights: t.weights.base, type: t.weights.type, rows: (lo - starts[m])..<(hi - starts[m]),
                            input: acts[m], batch: 0..<n, output: t.y, outputStride: t.yStride)
                lo = hi
            }
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
