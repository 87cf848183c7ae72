import CPrefetch
import Foundation
import KVCache
import TensorFormats

/// Rotary position embedding tables and application, computed as ggml does (theta advanced by
/// repeated multiplication, so the rounding matches).
struct Rope {
    let style: RopeStyle
    let dimensions: Int
    let freqFactors: [Float]?

    /// Fills `cos`/`sin` (dimensions/2 each) for position `pos`.
    func tables(pos: Int32, base: Float, scale: Float,
                cos c: UnsafeMutablePointer<Float>, sin s: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(base, -2 / Float(dimensions))
        var theta = Float(pos)
        for i in 0..<(dimensions / 2) {
            let ff = freqFactors?[i] ?? 1
            let t = scale * (theta / ff)
            c[i] = cosf(t)
            s[i] = sinf(t)
            theta *= thetaScale
        }
    }

    /// Rotates one head of `x` in place.
    @inline(__always)
    func apply(_ x: UnsafeMutablePointer<Float>, cos c: UnsafePointer<Float>, sin s: UnsafePointer<Float>) {
        let half = dimensions / 2
        switch style {
        case .normal:
            for i in 0..<half {
                let x0 = x[2 * i], x1 = x[2 * i + 1]
                x[2 * i] = (-(x1 * s[i])).addingProduct(x0, c[i])
                x[2 * i + 1] = (x1 * c[i]).addingProduct(x0, s[i])
            }
        case .neox:
            for i in 0..<half {
                let x0 = x[i], x1 = x[i + half]
                x[i] = (-(x1 * s[i])).addingProduct(x0, c[i])
                x[i + half] = (x1 * c[i]).addingProduct(x0, s[i])
            }
        }
    }
}

/// Attention of a batch of queries over one layer of a sequence cache.
///
/// It streams over the cache's blocks (never materializing an n x n matrix): for each query
/// and head, scores of the visible keys go into a per-thread buffer of at most the stored
/// length, then softmax, then the weighted sum of values. Visibility is by position: a key is
/// seen when its position is not after the query's and, on a sliding layer, is less than
/// `window` before it. An f16 cache goes to `FastAttentionJob` (llama.cpp's flash attention
/// organised for speed) or, with `Numerics.llamaCpp`, `LlamaCppF16AttentionJob` (the same,
/// operation for operation); q4 rows to `Q4AttentionJob`. Otherwise a `fast` batch goes to
/// `FastAttentionJob`'s tiles too, its rows widened; decoded tokens (and every query with
/// `Numerics.llamaCpp`) take llama.cpp's non-flash steps (scores, softmax, weighted sum; not its
/// summation orders), quantized keys scored with the query in Q8_0 (integer dot products),
/// quantized values widened as they are accumulated, rotated rows (see `KVStorage`) met by
/// rotating the query and the output.
struct AttentionKernel {
    let heads: Int
    let kvHeads: Int
    let keyLength: Int
    let valueLength: Int
    let scoreScale: Float

    /// Floats of per-thread scratch needed for a layer storing `stored` tokens.
    func scratchFloats(stored: Int) -> Int {
        max(stored + 2 * keyLength + 2 * valueLength + 64, FastAttentionJob.scratchFloats(self),
            LlamaCppF16AttentionJob.scratchFloats(self), Q4AttentionJob.scratchFloats(self))
    }

    /// `first` and `tiled` (`takesFastPath` only): the queries are rows `first ..< first + n`
    /// of the pending batch, tiled as a batch's even when `n` is 1 (`takesFastPath`).
    func run(cache: SequenceKVCache, layer: Int, window: Int?, n: Int,
             q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
             pool: ThreadPool, scratch: Scratch, partials: Scratch, quantizedQueries: [QuantizedActivations],
             queryBytes: [ByteActivations], llamaCpp: Bool, first: Int = 0, tiled: Bool = false) {
        let storage = cache.configuration.storage
        let everyCall = takesFastPath(cache: cache, llamaCpp: llamaCpp)
        precondition(everyCall || (first == 0 && !tiled), "only FastAttentionJob runs some rows of a batch")
        let call = AttentionCall(kernel: self, cache: cache, layer: layer, window: window, q: q, out: out, scratch: scratch,
                                 first: first)
        // A batch over q4 rows goes to `FastAttentionJob`'s tiles too (`Q4AttentionJob` scores
        // every query's keys apart); a decoded q4 token keeps `Q4AttentionJob`, whose integer
        // scores beat widening one query's rows.
        if everyCall || (!llamaCpp && FastAttentionJob.tiles(storage) && n > 1) {
            let job = fastJob(call, n: n, partials: partials.buffer(0), threads: pool.threadCount, tiled: tiled)
            pool.run(chunks: job.chunks, job: job)
            job.merge(tokens: n)
            return
        }
        if storage.key == .f16 && storage.value == .f16 {
            let path = LlamaCppF16AttentionJob.path(tokens: n, stored: call.stored.upperBound, threads: pool.threadCount)
            let job = LlamaCppF16AttentionJob(call: call, partials: partials.buffer(0), n: n, path: path)
            pool.run(chunks: LlamaCppF16AttentionJob.chunks(path, tokens: n), job: job)
            job.merge()
            return
        }
        if storage.key == .q4 {
            let slices = llamaCpp ? 1 : FastAttentionJob.slices(tokens: n, stored: call.stored.count, threads: pool.threadCount)
            // A decoded token's query is prepared once for all its slices, after their partials.
            let query = slices > 1 ? partials.buffer(0) + FastAttentionJob.partialFloats(self, tokens: n, slices: slices) : nil
            var job = Q4AttentionJob(call: call, partials: partials.buffer(0), slices: slices, prepared: nil)
            if let query {
                job.prepare(query: 0, into: query)
                job.prepared = UnsafePointer(query)
            }
            pool.run(chunks: n * slices, job: job)
            job.merge(tokens: n)
            return
        }
        let job = AttentionJob(call: call, quantizedQueries: quantizedQueries, queryBytes: queryBytes)
        pool.run(chunks: n * heads, job: job)
    }

    /// Attention of several sequences' rows of one layer (a batched pass). Where every cache
    /// `takesFastPath`, all of them go to the pool as one job, so decoding N agents hands work to the pool
    /// once per layer rather than N times; each sequence's chunks and merge are exactly those of
    /// its own run (`partials` holds every sequence's share, one after another).
    func run(_ sequences: [AttentionSequence], layer: Int, window: Int?, pool: ThreadPool, scratch: Scratch,
             partials: Scratch, quantizedQueries: [QuantizedActivations], queryBytes: [ByteActivations], llamaCpp: Bool) {
        let allFast = sequences.allSatisfy { takesFastPath(cache: $0.cache, llamaCpp: llamaCpp) }
        guard allFast && sequences.count > 1 else {
            for s in sequences {
                run(cache: s.cache, layer: layer, window: window, n: s.n, q: s.q, out: s.out, pool: pool, scratch: scratch,
                    partials: partials, quantizedQueries: quantizedQueries, queryBytes: queryBytes, llamaCpp: llamaCpp,
                    first: s.first, tiled: s.tiled)
            }
            return
        }
        var jobs: [FastAttentionJob] = []
        var firstChunk: [Int] = []
        var chunks = 0, offset = 0
        for s in sequences {
            let call = AttentionCall(kernel: self, cache: s.cache, layer: layer, window: window, q: s.q, out: s.out,
                                     scratch: scratch, first: s.first)
            let job = fastJob(call, n: s.n, partials: partials.buffer(0) + offset, threads: pool.threadCount, tiled: s.tiled)
            jobs.append(job)
            firstChunk.append(chunks)
            chunks += job.chunks
            offset += FastAttentionJob.partialFloats(self, tokens: s.n, slices: job.slices)
        }
        pool.run(chunks: chunks, job: SequencesJob(jobs: jobs, firstChunk: firstChunk))
        for (job, s) in zip(jobs, sequences) { job.merge(tokens: s.n) }
    }

    /// `FastAttentionJob` for the `n` queries of `call` (from its `base` on).
    private func fastJob(_ call: AttentionCall, n: Int, partials: UnsafeMutablePointer<Float>, threads: Int,
                         tiled: Bool) -> FastAttentionJob {
        let slices = tiled ? 1 : FastAttentionJob.slices(tokens: n, stored: call.stored.count, threads: threads)
        let depth = call.stored.count - n - call.first
        return FastAttentionJob(call: call, partials: partials, slices: slices, tokens: n,
                                queryTile: FastAttentionJob.queryTile(tokens: n, depth: depth, kvHeads: kvHeads, threads: threads),
                                tiled: tiled)
    }

    /// Whether `run` gives every call over `cache` to `FastAttentionJob` (`fast` numerics, f16
    /// rows or rows it widens; not q4, whose decoded tokens take `Q4AttentionJob`): the only
    /// job that can run some rows of a batch (`first`, `tiled`) with the floats they get in the
    /// whole batch, its tiled queries depending only on themselves and the cache, and that
    /// runs several sequences as one pool job.
    func takesFastPath(cache: SequenceKVCache, llamaCpp: Bool) -> Bool {
        let storage = cache.configuration.storage
        return !llamaCpp && FastAttentionJob.tiles(storage) && storage.key != .q4
    }

    /// Floats of the partial-softmax buffer a batch of `n` tokens over `stored` keys needs.
    func partialFloats(tokens n: Int, stored: Int, threads: Int, llamaCpp: Bool) -> Int {
        if llamaCpp {
            return LlamaCppF16AttentionJob.partialFloats(self, path: LlamaCppF16AttentionJob.path(tokens: n, stored: stored, threads: threads))
        }
        let slices = FastAttentionJob.slices(tokens: n, stored: stored, threads: threads)
        // Room for the prepared query of a sliced q4 decode (`Q4AttentionJob.prepared`).
        return FastAttentionJob.partialFloats(self, tokens: n, slices: slices) + (slices > 1 ? Q4AttentionJob.queryFloats(self) : 0)
    }
}

/// One sequence's rows in a batched attention call.
struct AttentionSequence {
    let cache: SequenceKVCache
    let n: Int
    let q: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    /// The first query's row in the sequence's pending batch.
    var first = 0
    /// Tiled as a batch's queries even when `n` is 1 (see `AttentionKernel.run`).
    var tiled = false
}

/// What every attention job works on: one layer of one sequence's cache (the tokens it stores
/// and the batch's first token), the batch's queries, where the outputs go and the per-thread
/// scratch. Held by each job as `call`, its fields read through `AttentionCallJob`.
struct AttentionCall {
    let kernel: AttentionKernel
    let cache: SequenceKVCache
    let layer: Int
    let window: Int?
    let q: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    let scratch: Scratch
    let stored: Range<Int>
    /// Token index of the first query (the cache's pending batch starts at `cache.count`).
    let base: Int

    init(kernel: AttentionKernel, cache: SequenceKVCache, layer: Int, window: Int?, q: UnsafePointer<Float>,
         out: UnsafeMutablePointer<Float>, scratch: Scratch, first: Int = 0) {
        self.kernel = kernel
        self.cache = cache
        self.layer = layer
        self.window = window
        self.q = q
        self.out = out
        self.scratch = scratch
        stored = cache.storedTokens(layer: layer)
        base = cache.count + first
    }

    /// The first query's row in the cache's pending batch.
    var first: Int { base - cache.count }
}

/// A pool job over an `AttentionCall`.
protocol AttentionCallJob: PoolJob {
    var call: AttentionCall { get }
}

extension AttentionCallJob {
    var kernel: AttentionKernel { call.kernel }
    var cache: SequenceKVCache { call.cache }
    var layer: Int { call.layer }
    var window: Int? { call.window }
    var q: UnsafePointer<Float> { call.q }
    var out: UnsafeMutablePointer<Float> { call.out }
    var scratch: Scratch { call.scratch }
    var stored: Range<Int> { call.stored }
    var base: Int { call.base }
}

/// Several sequences' attention jobs as one pool job: chunk `c` belongs to the last job whose
/// first chunk is at or before it.
private struct SequencesJob: PoolJob {
    let jobs: [FastAttentionJob]
    let firstChunk: [Int]

    func run(chunk: Int, worker: Int) {
        var j = jobs.count - 1
        while firstChunk[j] > chunk { j -= 1 }
        jobs[j].run(chunk: chunk - firstChunk[j], worker: worker)
    }
}

/// One (query, head) pair per chunk: `AttentionKernel.run` as a pool job, so a decoded token's
/// attention allocates nothing.
struct AttentionJob: AttentionCallJob {
    let call: AttentionCall
    let quantizedQueries: [QuantizedActivations]
    /// Per worker, the quantized query as bytes for `ByteDot` (x86-64).
    let queryBytes: [ByteActivations]

    func run(chunk item: Int, worker: Int) {
        let heads = kernel.heads, kvHeads = kernel.kvHeads
        let keyLength = kernel.keyLength, valueLength = kernel.valueLength, scoreScale = kernel.scoreScale
        let bt = cache.configuration.blockTokens
        let storage = cache.configuration.storage
        let keyType = storage.key, valueType = storage.value
        let kGroupBytes = keyType.keyRowBytes(keyLength), vGroupBytes = valueType.valueRowBytes(valueLength)
        let group = heads / kvHeads
        let qStride = heads * keyLength
        let oStride = heads * valueLength
        let i = item / heads, h = item % heads, g = h / group
        let buf = scratch.buffer(worker)
        let qv = buf
        let scores = buf + 2 * keyLength + valueLength
        qv.update(from: q + i * qStride + h * keyLength, count: keyLength)
        if keyType == .f16 { roundToHalf(qv, keyLength) }
        let (qb, qs) = cache.slot(layer: layer, token: base + i)
        let qpos = qb.positions[qs]

        // Quantized keys: the query goes through the same rotation as the stored keys, then
        // to Q8_0, so each score is one integer dot product (llama.cpp's path too).
        let qq = keyType.isQuantized ? quantizedQueries[worker] : nil
        if let qq {
            if storage.rotatesKeys { hadamardRotate(qv, count: keyLength) }
            qq.quantize(row: 0, from: qv)
        }
        // On x86-64 a block's keys are scored in one `ByteDot` call instead of a dot product
        // call per key.
        #if arch(x86_64)
        let queryRow = qq == nil ? nil : queryBytes[worker]
        if let queryRow, let qq { queryRow.fill(row: 0, from: qq, row: 0) }
        let keyRowBytes = cache.configuration.keyRowBytes(layer: layer)
        #endif

        // Scores of visible keys (-inf marks a masked slot), softmax, weighted sum.
        var maxScore = -Float.infinity
        var t = stored.lowerBound
        var j = 0
        while t < stored.upperBound {
            let (block, s0) = cache.slot(layer: layer, token: t)
            let m = min(bt - s0, stored.upperBound - t)
            // The next block's keys into L2 while this block's are scored (blocks are separate
            // allocations: the hardware prefetcher stops at each one's end).
            if t + m < stored.upperBound {
                let (next, n0) = cache.slot(layer: layer, token: t + m)
                rdic_prefetch_later(next.key(n0), min(bt - n0, stored.upperBound - t - m) * next.keyRowBytes)
            }
            var blockScored = false
            #if arch(x86_64)
            if let queryRow {
                ByteDot.rows(keyType.ggmlType, base: block.key(s0) + g * kGroupBytes, rowBytes: keyRowBytes, rows: 0..<m,
                             cols: keyLength, x: queryRow.qs, blocks: queryRow.blocks(row: 0, blockSize: 32),
                             blocks16: queryRow.blocks(row: 0, blockSize: 16), y: scores + j, yStride: 1)
                blockScored = true
            }
            #endif
            for s in s0..<(s0 + m) {
                let kp = block.positions[s]
                var score = -Float.infinity
                if kp <= qpos && (window == nil || qpos - kp < Int32(window!)) {
                    let k = block.key(s) + g * kGroupBytes
                    switch keyType {
                    case .f32: score = dot(qv, k.assumingMemoryBound(to: Float.self), keyLength)
                    case .f16: score = dotHalf(qv, k, keyLength)
                    case .q4: preconditionFailure("q4 goes to Q4AttentionJob")
                    case .q8_0, .q4_0:
                        score = blockScored ? scores[j] : try! vecDot(keyType.ggmlType, weightRow: k, activations: qq!)
                    }
                    score *= scoreScale
                    if score > maxScore { maxScore = score }
                }
                scores[j] = score
                j += 1
            }
            t += m
        }

        var sum: Double = 0
        for x in 0..<j {
            let e = scores[x] == -.infinity ? 0 : expf(scores[x] - maxScore)
            scores[x] = e
            sum += Double(e)
        }
        let inv = Float(1 / sum)
        let o = out + i * oStride + h * valueLength
        o.initialize(repeating: 0, count: valueLength)
        t = stored.lowerBound
        j = 0
        while t < stored.upperBound {
            let (block, s0) = cache.slot(layer: layer, token: t)
            let m = min(bt - s0, stored.upperBound - t)
            if t + m < stored.upperBound {
                let (next, n0) = cache.slot(layer: layer, token: t + m)
                rdic_prefetch_later(next.value(n0), min(bt - n0, stored.upperBound - t - m) * next.valueRowBytes)
            }
            switch valueType {
            case .q8_0, .q4_0:
                // The block's weights, then its rows in one call (a call per row was a third
                // of a decoded token's time at depth).
                for u in j..<(j + m) { scores[u] *= inv }
                try! addScaledRows(valueType.ggmlType, base: block.value(s0) + g * vGroupBytes, rowStride: block.valueRowBytes,
                                   rows: m, count: valueLength, weights: scores + j, into: o)
                j += m
            case .f32, .f16:
                for s in s0..<(s0 + m) {
                    let p = scores[j] * inv
                    j += 1
                    if p == 0 { continue }
                    let v = block.value(s) + g * vGroupBytes
                    if valueType == .f32 { axpy(p, v.assumingMemoryBound(to: Float.self), o, valueLength) } else { axpyHalf(p, v, o, valueLength) }
                }
            case .q4:
                preconditionFailure("q4 goes to Q4AttentionJob")
            }
            t += m
        }
        // Stored values were rotated: so is their weighted sum; rotate it back.
        if storage.rotatesValues { hadamardRotate(o, count: valueLength) }
    }
}
