import TensorFormats

/// A batch of activation rows about to be multiplied with weight matrices.
///
/// Quantized weights are multiplied with activations quantized on the fly to 8 bits (Q8_0 or
/// Q8_K, whichever the weight type's kernel takes), exactly as llama.cpp does, so the rounding
/// matches the reference. Each format is prepared at most once per input (Q, K and V share the
/// same normalized input), into buffers that `ActivationBuffers` keeps across calls. A value:
/// making one per matrix product allocates nothing.
struct MatmulInput {
    let x: UnsafePointer<Float>
    let n: Int
    let cols: Int
    let buffers: ActivationBuffers
    private let pool: ThreadPool
    private var prepared = ByFormat<QuantizedActivations>()
    private var expanded = ByFormat<UnsafeMutablePointer<Float>>()
    private var bytes = ByFormat<ByteActivations>()
    /// Every batch token by token through `ByteDot` (`Numerics.llamaCpp`), never the GEMM.
    let tokenByToken: Bool
    /// Each row computed exactly as if it were a batch of its own (one decoded token): rows of
    /// different sequences sharing a pass then get the floats each gets alone.
    let independentRows: Bool

    init(_ x: UnsafePointer<Float>, n: Int, cols: Int, buffers: ActivationBuffers, pool: ThreadPool,
         tokenByToken: Bool = false, independentRows: Bool = false) {
        self.x = x
        self.n = n
        self.tokenByToken = tokenByToken
        self.independentRows = independentRows
        self.cols = cols
        self.buffers = buffers
        self.pool = pool
    }

    /// Up to this many elements are prepared on the calling thread (eight rows of a 2,048-wide
    /// feed-forward layer: microseconds, less than a hand-off to the pool and back).
    static let inlineElements = 16_384

    mutating func activations(_ format: ActivationFormat) -> QuantizedActivations {
        if let a = prepared[format] { return a }
        let a = buffers.buffer(format: format, cols: cols, rows: n)
        let x = self.x, cols = self.cols
        if n * cols <= Self.inlineElements {
            // Decoded tokens (one per agent): a few rows are quicker to quantize here than to
            // hand to the pool, which a step of four agents would otherwise do eight times a layer.
            for i in 0..<n { a.quantize(row: i, from: x + i * cols) }
        } else {
            pool.parallelFor(n) { range, _ in
                for i in range { a.quantize(row: i, from: x + i * cols) }
            }
        }
        prepared[format] = a
        return a
    }

    /// The quantized activations expanded back to floats (`[n][cols]`): what the integer
    /// kernels multiply with, exactly, so a float product with decoded weight rows gives the
    /// same sums up to float rounding.
    mutating func expandedActivations(_ format: ActivationFormat) -> UnsafeMutablePointer<Float> {
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

    /// Whether a product with `weights` takes the batched GEMM (`Gemm`, `IntegerGemm`)
    /// rather than going token by token. An interleaved copy takes every batch: four tokens at
    /// a time it beats the GEMM (SmolLM2 pp512 1.6x).
    func batched(_ weights: WeightMatrix) -> Bool {
        guard n >= Gemm.minTokens && !independentRows else { return false }
        #if arch(x86_64)
        if tokenByToken && ByteDot.supports(weights.type) { return false }
        if !tokenByToken && weights.interleaved != nil { return false }
        #endif
        return true
    }

    /// The quantized activations as plain bytes, for the x86-64 byte kernels (`IntegerGemm`, `ByteDot`).
    mutating func byteActivations(_ format: ActivationFormat) -> ByteActivations {
        if let b = bytes[format] { return b }
        let a = activations(format)
        let b = buffers.byteBuffer(format: format, cols: cols, rows: n)
        if n * cols <= Self.inlineElements {
            for i in 0..<n { b.fill(row: i, from: a, row: i) }
        } else {
            pool.parallelFor(n) { range, _ in
                for i in range { b.fill(row: i, from: a, row: i) }
            }
        }
        bytes[format] = b
        return b
    }
}

/// One optional value per activation format, held inline (a dictionary would allocate for
/// every matrix product of a decoded token).
struct ByFormat<Value> {
    private var f32, q8_0, q8_K: Value?

    subscript(format: ActivationFormat) -> Value? {
        get {
            switch format {
            case .f32: f32
            case .q8_0: q8_0
            case .q8_K: q8_K
            }
        }
        set {
            switch format {
            case .f32: f32 = newValue
            case .q8_0: q8_0 = newValue
            case .q8_K: q8_K = newValue
            }
        }
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

    private var bytes: [Key: ByteActivations] = [:]

    func byteBuffer(format: ActivationFormat, cols: Int, rows: Int) -> ByteActivations {
        let key = Key(format: format, cols: cols)
        if let b = bytes[key], b.capacity >= rows { return b }
        let b = ByteActivations(count: cols, capacity: max(rows, 16))
        bytes[key] = b
        return b
    }

    private var panels: Scratch?

    /// Per-thread panel scratch for `Gemm` and `IntegerGemm` on matrices of up to `cols` columns.
    func panelScratch(threads: Int, cols: Int) -> Scratch {
        var need = Gemm.scratchFloats(cols: cols)
        #if arch(x86_64)
        need = max(need, IntegerGemm.scratchFloats(cols: cols))
        #endif
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
    func multiply(_ input: inout MatmulInput, into y: UnsafeMutablePointer<Float>, yStride: Int,
                  rowRange: Range<Int>? = nil, pool: ThreadPool) {
        precondition(input.cols == cols)
        let range = rowRange ?? 0..<rows
        if input.batched(self) {
            let format = type.activationFormat!
            let scratch = input.buffers.panelScratch(threads: pool.threadCount, cols: cols)
            #if arch(x86_64)
            if type.unsignedLayout != nil {
                multiplyBatch(input.byteActivations(format), n: input.n, into: y, yStride: yStride, rowRange: range,
                              pool: pool, scratch: scratch)
                return
            }
            #endif
            let x = UnsafePointer(input.expandedActivations(format))
            multiplyBatch(x, activations: input.activations(format), n: input.n, into: y, yStride: yStride, rowRange: range,
                          pool: pool, scratch: scratch)
            return
        }
        let part = MatmulJob.Part(self, rows: range, y: y, yStride: yStride, input: &input)
        MatmulJob(part, n: input.n, independentRows: input.independentRows).run(on: pool)
    }

    /// Several matrices times the same input (Q, K and V; gate and up) as one parallel job:
    /// for a single decoded token each product is only tens of microseconds, so one hand-off
    /// to the pool instead of three saves most of the synchronization. Batches of `Gemm` size
    /// run matrix by matrix.
    static func multiplyAll(_ a: MatmulTarget, _ b: MatmulTarget, _ c: MatmulTarget? = nil,
                            input: inout MatmulInput, pool: ThreadPool) {
        if input.batched(a.weights) || input.batched(b.weights) || c.map({ input.batched($0.weights) }) == true {
            a.weights.multiply(&input, into: a.y, yStride: a.yStride, pool: pool)
            b.weights.multiply(&input, into: b.y, yStride: b.yStride, pool: pool)
            if let c { c.weights.multiply(&input, into: c.y, yStride: c.yStride, pool: pool) }
            return
        }
        func part(_ t: MatmulTarget) -> MatmulJob.Part {
            MatmulJob.Part(t.weights, rows: 0..<t.weights.rows, y: t.y, yStride: t.yStride, input: &input)
        }
        let pa = part(a), pb = part(b)
        let pc = c.map { part($0) }
        MatmulJob(pa, pb, pc, n: input.n, independentRows: input.independentRows).run(on: pool)
    }
}

/// One output of `multiplyAll`: a matrix and where its rows go.
struct MatmulTarget {
    let weights: WeightMatrix
    let y: UnsafeMutablePointer<Float>
    let yStride: Int
}

/// Up to three matrix-vector (or small-batch) products with prepared activations, their rows
/// concatenated and split into chunks across the pool. A value, run without allocating.
struct MatmulJob: PoolJob {
    struct Part {
        let base: UnsafeRawPointer
        let type: GGMLType
        let rows: Int
        let rowBytes: Int
        let y: UnsafeMutablePointer<Float>
        let yStride: Int
        let activations: QuantizedActivations
        /// One token's activations as bytes, where `ByteDot` has a kernel for the type.
        let bytes: ByteActivations?
        #if arch(x86_64)
        /// The matrix's interleaved copy, except under llama.cpp's numerics (its kernels' floats).
        let interleaved: InterleavedWeights?
        /// Where `rows` starts in the interleaved copy.
        let firstRow: Int
        #endif

        /// Rows `range` of `weights`.
        init(_ weights: WeightMatrix, rows range: Range<Int>, y: UnsafeMutablePointer<Float>, yStride: Int,
             input: inout MatmulInput) {
            base = weights.base + range.lowerBound * weights.rowBytes
            type = weights.type
            rows = range.count
            rowBytes = weights.rowBytes
            self.y = y
            self.yStride = yStride
            let format = type.activationFormat!
            activations = input.activations(format)
            #if arch(x86_64)
            // Token by token: llama.cpp's own kernels, and faster than the batched 16-bit ones
            // at these sizes (SmolLM2 and Gemma prefill of 16 tokens: +20%).
            bytes = ByteDot.supports(type) ? input.byteActivations(format) : nil
            interleaved = input.tokenByToken || bytes == nil ? nil : weights.interleaved
            firstRow = range.lowerBound
            #else
            bytes = nil
            #endif
        }
    }

    let a: Part, b: Part?, c: Part?
    let n: Int
    let independentRows: Bool
    let totalRows: Int
    var chunkRows: Int
    /// Weight rows passed over by every group of independent rows in turn (tens of KiB).
    static let tileRows = 32

    init(_ a: Part, _ b: Part? = nil, _ c: Part? = nil, n: Int, independentRows: Bool = false) {
        self.a = a
        self.b = b
        self.c = c
        self.n = n
        self.independentRows = independentRows
        totalRows = a.rows + (b?.rows ?? 0) + (c?.rows ?? 0)
        chunkRows = 16
    }

    /// Runs the products, in about four chunks per thread of at least 16 rows (as
    /// `parallelFor` would cut them).
    func run(on pool: ThreadPool) {
        var job = self
        let target = max(1, min(4 * pool.threadCount, totalRows / 16))
        job.chunkRows = (totalRows + target - 1) / target
        #if arch(x86_64)
        // Whole groups of interleaved rows: a group split between chunks would be computed twice.
        if a.interleaved != nil {
            let g = InterleavedWeights.groupRows
            job.chunkRows = (job.chunkRows + g - 1) / g * g
        }
        #endif
        pool.run(chunks: (totalRows + job.chunkRows - 1) / job.chunkRows, job: job)
    }

    func run(chunk: Int, worker: Int) {
        let lo = chunk * chunkRows, hi = min(totalRows, lo + chunkRows)
        var start = 0
        run(a, rows: lo..<hi, partStart: &start)
        if let b { run(b, rows: lo..<hi, partStart: &start) }
        if let c { run(c, rows: lo..<hi, partStart: &start) }
    }

    /// The rows of `part` (whose first row is `partStart` in the concatenation) in `rows`.
    @inline(__always) private func run(_ part: Part, rows: Range<Int>, partStart: inout Int) {
        let start = partStart, end = start + part.rows
        partStart = end
        let lo = max(rows.lowerBound, start), hi = min(rows.upperBound, end)
        guard lo < hi else { return }
        #if arch(x86_64)
        if let interleaved = part.interleaved, let bytes = part.bytes {
            interleaved.multiply(rows: (part.firstRow + lo - start)..<(part.firstRow + hi - start), activations: bytes,
                                 tokens: 0..<n, y: part.y - part.firstRow, yStride: 1, yTokenStride: part.yStride)
            return
        }
        if let bytes = part.bytes {
            let rows = (lo - start)..<(hi - start)
            // Rows of different sequences: up to four at a time through kernels that read each
            // weight block once for all of them and give each the floats it gets alone. A tile
            // of weight rows stays in cache while every group of tokens passes over it.
            if independentRows && n > 1 {
                // One group of tokens passes once: no tile to keep in cache, and the kernels
                // prepare the tokens' activations once for the whole range.
                let tileRows = n > 4 ? Self.tileRows : rows.count
                var r = rows.lowerBound
                while r < rows.upperBound {
                    let tile = r..<min(rows.upperBound, r + tileRows)
                    var first = 0
                    while first < n {
                        let last = min(n, first + 4)
                        ByteDot.rowsAlone(part.type, base: part.base, rowBytes: part.rowBytes, rows: tile, activations: bytes,
                                          tokens: first..<last, y: part.y, yStride: 1, yTokenStride: part.yStride)
                        first = last
                    }
                    r = tile.upperBound
                }
                return
            }
            var first = 0
            if n >= 4 && !independentRows {
                // Four tokens per pass: each weight block unpacked once for the four.
                while first + 4 <= n {
                    @inline(__always) func blocks(_ size: Int) -> ByteDot.Blocks4 {
                        (bytes.blocks(row: first, blockSize: size), bytes.blocks(row: first + 1, blockSize: size),
                         bytes.blocks(row: first + 2, blockSize: size), bytes.blocks(row: first + 3, blockSize: size))
                    }
                    ByteDot.rows4(part.type, base: part.base, rowBytes: part.rowBytes, rows: rows,
                                  cols: bytes.count, x: bytes.qs + first * bytes.count, xStride: bytes.count,
                                  blocks: blocks(32), blocks16: blocks(16), y: part.y + first * part.yStride, yStride: 1,
                                  yTokenStride: part.yStride, batch: n)
                    first += 4
                }
            }
            for i in first..<n {
                ByteDot.rows(part.type, base: part.base, rowBytes: part.rowBytes, rows: rows,
                             cols: bytes.count, x: bytes.qs + i * bytes.count, blocks: bytes.blocks(row: i, blockSize: 32),
                             blocks16: bytes.blocks(row: i, blockSize: 16), y: part.y + i * part.yStride, yStride: 1,
                             batch: independentRows ? 1 : n, token: independentRows ? 0 : i)
            }
            return
        }
        #endif
        // Types were checked at load (`hasDotKernel`), so this cannot fail.
        try! matmul(weights: part.base, type: part.type, rows: (lo - start)..<(hi - start), input: part.activations,
                    batch: 0..<n, output: part.y, outputStride: part.yStride)
    }
}

/// `gate[j] = act(gate[j]) * up[j]`: the gated feed-forward activation, in chunks of at least
/// 1024 elements.
struct GatedActivationJob: PoolJob {
    let activation: GateActivation
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafePointer<Float>
    let count: Int
    static let chunk = 1024

    init(activation: GateActivation, gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        self.activation = activation
        self.gate = gate
        self.up = up
        self.count = count
    }

    func run(on pool: ThreadPool) { pool.run(chunks: (count + Self.chunk - 1) / Self.chunk, job: self) }

    func run(chunk: Int, worker: Int) {
        let range = (chunk * Self.chunk)..<min(count, (chunk + 1) * Self.chunk)
        switch activation {
        case .geluTanh: geluGated(gate + range.lowerBound, up + range.lowerBound, range.count)
        case .silu: siluGated(gate + range.lowerBound, up + range.lowerBound, range.count)
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
