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
                  rowRange: Range<Int>? = nil, pool: ThreadPool, scratch: Scratch? = nil) {
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

extension WeightMatrix {
    /// Batches at least this large (prefill) decode each weight row once into floats and
    /// multiply it with the whole batch; smaller ones (decode) use the integer kernels.
    static let batchedThreshold = 4
    /// Weight rows decoded together.
    static let tileRows = 4

    /// Prefill product: tiles of 4 decoded weight rows times pairs of expanded activation rows,
    /// 8 SIMD accumulators, so each load feeds several fused multiply-adds.
    func multiplyBatched(_ input: MatmulInput, out: UnsafeMutablePointer<Float>, yStride: Int, range: Range<Int>,
                         pool: ThreadPool, scratch: Scratch) {
        let x = UnsafePointer(input.expandedActivations(type.activationFormat!))
        let n = input.n, cols = self.cols
        let tile = WeightMatrix.tileRows
        precondition(scratch.floatsPerThread >= tile * cols)
        pool.parallelFor(range.count, minChunk: tile) { chunk, worker in
            let w = scratch.buffer(worker)
            var r0 = range.lowerBound + chunk.lowerBound
            let end = range.lowerBound + chunk.upperBound
            while r0 < end {
                let tr = min(tile, end - r0)
                for j in 0..<tr { decodeRow(r0 + j, into: w + j * cols) }
                if tr == tile && cols % 8 == 0 {
                    var t = 0
                    while t + 2 <= n {
                        dot4x2(w, cols, x + t * cols, x + (t + 1) * cols, out + t * yStride + r0, out + (t + 1) * yStride + r0)
                        t += 2
                    }
                    if t < n {
                        for j in 0..<tile { out[t * yStride + r0 + j] = dot(w + j * cols, x + t * cols, cols) }
                    }
                } else {
                    for t in 0..<n {
                        for j in 0..<tr { out[t * yStride + r0 + j] = dot(w + j * cols, x + t * cols, cols) }
                    }
                }
                r0 += tr
            }
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

/// Four weight rows (`w`, `cols` apart) times two activation rows: 8 dot products.
@inline(__always)
func dot4x2(_ w: UnsafePointer<Float>, _ cols: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
            _ outA: UnsafeMutablePointer<Float>, _ outB: UnsafeMutablePointer<Float>) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
    let w1 = w + cols, w2 = w + 2 * cols, w3 = w + 3 * cols
    var i = 0
    while i < cols {
        let xa = load8(a, i), xb = load8(b, i)
        let v0 = load8(w, i), v1 = load8(w1, i), v2 = load8(w2, i), v3 = load8(w3, i)
        a0.addProduct(v0, xa); a1.addProduct(v1, xa); a2.addProduct(v2, xa); a3.addProduct(v3, xa)
        b0.addProduct(v0, xb); b1.addProduct(v1, xb); b2.addProduct(v2, xb); b3.addProduct(v3, xb)
        i += 8
    }
    outA[0] = a0.sum(); outA[1] = a1.sum(); outA[2] = a2.sum(); outA[3] = a3.sum()
    outB[0] = b0.sum(); outB[1] = b1.sum(); outB[2] = b2.sum(); outB[3] = b3.sum()
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
