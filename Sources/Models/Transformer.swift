import Foundation
import GGUF
import KVCache
import TensorFormats

/// One decoder layer's weights. Norm weights are copied (they are small); matrices stay in the
/// memory-mapped file.
struct LayerWeights: @unchecked Sendable {
    var attentionNorm: [Float]
    var wq, wk, wv, wo: WeightMatrix
    var queryNorm: [Float]?
    var keyNorm: [Float]?
    var postAttentionNorm: [Float]?
    var ffnNorm: [Float]
    var gate, up, down: WeightMatrix
    var postFFNNorm: [Float]?

    /// The layer's matrices.
    var matrices: [WeightMatrix] { [wq, wk, wv, wo, gate, up, down] }

    /// The layer with interleaved copies of its matrices (see `WeightMatrix.withInterleavedCopy`).
    func withInterleavedCopies(from file: GGUFFile) -> LayerWeights {
        var l = self
        l.wq = wq.withInterleavedCopy(from: file)
        l.wk = wk.withInterleavedCopy(from: file)
        l.wv = wv.withInterleavedCopy(from: file)
        l.wo = wo.withInterleavedCopy(from: file)
        l.gate = gate.withInterleavedCopy(from: file)
        l.up = up.withInterleavedCopy(from: file)
        l.down = down.withInterleavedCopy(from: file)
        return l
    }
}

/// A loaded decoder-only transformer: weights memory-mapped from a GGUF file, hyper-parameters
/// from its metadata, a thread pool for the matrix products.
///
/// `forward` runs a batch of tokens through the model, appending their keys and values to a
/// sequence cache, and returns the final hidden states of the rows asked for; `logits` turns
/// those into vocabulary logits. Calls on one model are serialized (they share the scratch
/// memory); use one model per concurrent stream of work.
public final class Transformer: @unchecked Sendable {
    public let hyperparameters: Hyperparameters
    public let file: GGUFFile
    public let pool: ThreadPool
    let layers: [LayerWeights]
    let tokenEmbedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let rope: Rope
    let attention: AttentionKernel
    private let lock = NSLock()
    /// The kernels a pass runs when its caller names none (see `Numerics`); each call may
    /// choose its own, so requests sharing the model need not agree.
    public let numerics: Numerics
    private var workspace = Workspace()
    private let activationBuffers = ActivationBuffers()
    private var attentionScratch: Scratch
    /// Partial softmax results of attention split over key slices (`FastAttentionJob`) or cells (`LlamaCppF16AttentionJob`).
    private var attentionPartials: Scratch
    /// Per thread: one query head in Q8_0, for scoring quantized keys.
    private let attentionQueries: [QuantizedActivations]
    /// The same queries as bytes, for the x86-64 byte kernels.
    private let attentionQueryBytes: [ByteActivations]

    /// Loads the model at `path`. `threads` sizes the thread pool (default: one per core).
    public convenience init(path: String, threads: Int? = nil, numerics: Numerics = .fast) throws {
        try self.init(file: GGUFFile(path: path), threads: threads, numerics: numerics)
    }

    public init(file: GGUFFile, threads: Int? = nil, numerics: Numerics = .fast) throws(ModelError) {
        self.file = file
        self.numerics = numerics
        let architecture = try Architectures.of(file)
        let h = try architecture.hyperparameters(file)
        guard h.headCount > 0, h.kvHeadCount > 0, h.headCount % h.kvHeadCount == 0,
              h.ropeDimensions <= h.keyLength, h.ropeDimensions % 2 == 0 else {
            throw .invalidHyperparameter("heads \(h.headCount), KV heads \(h.kvHeadCount), RoPE dims \(h.ropeDimensions)")
        }
        let t = TensorLoader(file: file)
        // A model whose default is llama.cpp's numerics reads the file's rows (its kernels); it
        // makes no copies (a request asking for `.fast` then takes the row-major kernels).
        let copies = numerics == .fast
        var layers: [LayerWeights] = []
        for i in 0..<h.layerCount {
            let layer = try architecture.layerWeights(t, h, layer: i)
            layers.append(copies ? layer.withInterleavedCopies(from: file) : layer)
        }
        self.layers = layers
        let d = h.embeddingLength
        guard let embInfo = file.tensor(named: "token_embd.weight") else { throw .missingTensor("token_embd.weight") }
        var hp = h
        hp.vocabularySize = embInfo.rowCount
        let embedding = try t.matrix("token_embd.weight", cols: d, rows: hp.vocabularySize)
        if let separate = try t.optionalMatrix("output.weight", cols: d, rows: hp.vocabularySize) {
            tokenEmbedding = embedding
            output = copies ? separate.withInterleavedCopy(from: file) : separate
        } else {
            // Tied: lookups read the output's interleaved copy, whose file pages are dropped.
            output = copies ? embedding.withInterleavedCopy(from: file) : embedding
            tokenEmbedding = output
        }
        outputNorm = try t.vector("output_norm.weight", count: d)
        rope = Rope(style: h.ropeStyle, dimensions: h.ropeDimensions,
                    freqFactors: try t.optionalVector("rope_freqs.weight", count: h.ropeDimensions / 2))
        attention = AttentionKernel(heads: h.headCount, kvHeads: h.kvHeadCount, keyLength: h.keyLength,
                                    valueLength: h.valueLength, scoreScale: h.scoreScale)
        hyperparameters = hp
        pool = ThreadPool(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        attentionScratch = Scratch(threads: pool.threadCount, floatsPerThread: attention.scratchFloats(stored: 1024))
        attentionPartials = Scratch(threads: 1, floatsPerThread: 4096)
        // Empty when heads are not whole Q8_0 blocks; such a model cannot use quantized keys.
        attentionQueries = (0..<pool.threadCount).compactMap { _ in
            try? QuantizedActivations(format: .q8_0, count: h.keyLength, capacity: 1)
        }
        attentionQueryBytes = attentionQueries.map { ByteActivations(count: $0.count, capacity: 1) }
    }

    deinit { pool.shutdown() }

    /// Bytes the weights keep resident: the mapped file, with each tensor an interleaved copy
    /// replaces (its file pages dropped) counted at the copy's size instead.
    public var weightBytes: Int {
        let matrices = [output] + layers.flatMap(\.matrices)
        return matrices.reduce(file.fileSize) { total, m in
            m.interleavedBytes == 0 ? total : total - m.rows * m.rowBytes + m.interleavedBytes
        }
    }

    /// The cache shape of this model.
    public func cacheConfiguration(contextLength: Int, storage: KVStorage = .f16,
                                   blockTokens: Int = 64) -> KVCacheConfiguration {
        let h = hyperparameters
        let shapes = (0..<h.layerCount).map { i in
            KVLayerShape(kvHeads: h.kvHeadCount, keyLength: h.keyLength, valueLength: h.valueLength,
                         window: h.isSliding(i) ? h.slidingWindow : nil,
                         rope: KVRope(pairing: h.ropeStyle == .neox ? .halves : .adjacent, dimensions: h.ropeDimensions,
                                      base: h.rope(layer: i).base, scale: h.rope(layer: i).scale,
                                      frequencyFactors: rope.freqFactors))
        }
        return KVCacheConfiguration(layers: shapes, storage: storage, blockTokens: blockTokens,
                                    contextLength: contextLength)
    }

    /// Refuses quantized storage for heads that are not whole Q8_0/Q4_0 blocks.
    public func validate(_ storage: KVStorage) throws(ModelError) {
        let h = hyperparameters
        let keysOK = !storage.key.isQuantized || (h.keyLength % 32 == 0 && !attentionQueries.isEmpty)
        let valuesOK = !storage.value.isQuantized || h.valueLength % 32 == 0
        // q4 rows are whole groups, and keys and values go through one kernel.
        let q4 = Q4Layout.current
        let q4OK = (storage.key == .q4) == (storage.value == .q4)
            && (storage.key != .q4 || (h.keyLength % q4.keys.groupSize == 0 && h.valueLength % q4.values.groupSize == 0))
        guard keysOK && valuesOK && q4OK else {
            throw .unsupportedKVStorage(storage: storage.description, keyLength: h.keyLength, valueLength: h.valueLength)
        }
    }

    /// A new empty sequence cache (context capped at the model's `context_length`).
    public func makeCache(contextLength: Int = 32768, storage: KVStorage = .f16) -> SequenceKVCache {
        SequenceKVCache(configuration: cacheConfiguration(
            contextLength: min(contextLength, hyperparameters.contextLength), storage: storage))
    }

    /// Runs `tokens` (at `positions`, default consecutive after the cache's last) through the
    /// model, appending them to `cache`, and returns the output-normed hidden states of the
    /// batch rows in `outputRows` (`[rows][embeddingLength]`).
    public func forward(tokens: [Int32], cache: SequenceKVCache, positions: [Int32]? = nil,
                        outputRows: Range<Int>, numerics: Numerics? = nil) throws -> [Float] {
        var result = [Float](repeating: 0, count: outputRows.count * hyperparameters.embeddingLength)
        try result.withUnsafeMutableBufferPointer { r in
            try forward([SequenceBatch(tokens: tokens, cache: cache, positions: positions, outputRows: outputRows)],
                        numerics: numerics, into: r.baseAddress!)
        }
        return result
    }

    /// One generated token through the model, its output-normed hidden state written to `out`
    /// (`embeddingLength` floats). Allocates nothing (beyond a new cache block every
    /// `blockTokens` tokens).
    public func decode(token: Int32, cache: SequenceKVCache, numerics: Numerics? = nil,
                       into out: UnsafeMutablePointer<Float>) throws {
        try forward([SequenceBatch(tokens: [token], cache: cache, outputRows: 0..<1)], numerics: numerics, into: out)
    }

    /// `forward(tokens:cache:positions:outputRows:)` writing the hidden states of `outputRows`
    /// to `out` (`outputRows.count * embeddingLength` floats).
    public func forward(tokens: UnsafeBufferPointer<Int32>, cache: SequenceKVCache, positions: [Int32]? = nil,
                        outputRows: Range<Int>, numerics: Numerics? = nil, into out: UnsafeMutablePointer<Float>) throws {
        try forward([SequenceBatch(tokens: Array(tokens), cache: cache, positions: positions, outputRows: outputRows)],
                    numerics: numerics, into: out)
    }

    /// One forward pass over several sequences at once, each with its own cache and positions:
    /// the weights are read once for all of them (decoding N agents costs about one matrix pass),
    /// while attention runs per sequence over that sequence's cache only. The hidden states of
    /// every sequence's `outputRows` are written to `out` one after another, in `batch` order.
    /// `numerics` nil uses the model's default.
    public func forward(_ batch: [SequenceBatch], numerics: Numerics? = nil,
                        into out: UnsafeMutablePointer<Float>) throws {
        lock.lock()
        defer { lock.unlock() }
        let llamaCpp = (numerics ?? self.numerics) == .llamaCpp
        let h = hyperparameters
        var seen = Set<ObjectIdentifier>()
        for s in batch {
            precondition(s.outputRows.lowerBound >= 0 && s.outputRows.upperBound <= s.tokens.count)
            precondition(seen.insert(ObjectIdentifier(s.cache)).inserted, "a cache appears twice in one batch")
            for tok in s.tokens where tok < 0 || Int(tok) >= h.vocabularySize {
                throw ModelError.tokenOutOfRange(token: tok, vocabulary: h.vocabularySize)
            }
            if s.cache.count + s.tokens.count > s.cache.configuration.contextLength {
                throw ModelError.promptTooLong(tokens: s.cache.count + s.tokens.count,
                                               context: s.cache.configuration.contextLength)
            }
        }
        // Single tokens (decoding sequences) first, as one segment of independent rows; each
        // longer part (a prompt chunk) is a segment of its own. Every segment's products then
        // take the kernels its sequence would get alone, so batching never changes a result.
        let parts = batch.filter { $0.tokens.count == 1 } + batch.filter { $0.tokens.count > 1 }
        let n = parts.reduce(0) { $0 + $1.tokens.count }
        if n == 0 { return }
        var rowStart: [Int] = []
        var stored = 0
        var partialsNeeded = 0
        do {
            var r = 0
            for s in parts {
                try s.cache.reserve(s.tokens.count, positions: s.positions)
                rowStart.append(r)
                r += s.tokens.count
                var seqStored = s.tokens.count
                for l in 0..<h.layerCount { seqStored = max(seqStored, s.cache.storedTokens(layer: l).count) }
                stored = max(stored, seqStored)
                // Every sequence's share side by side (a batched attention call uses them at once).
                partialsNeeded += attention.partialFloats(tokens: s.tokens.count, stored: seqStored,
                                                          threads: pool.threadCount, llamaCpp: llamaCpp)
            }
        } catch {
            for s in parts { s.cache.cancelPending() }
            throw error
        }
        if attention.scratchFloats(stored: stored) > attentionScratch.floatsPerThread {
            attentionScratch = Scratch(threads: pool.threadCount,
                                       floatsPerThread: attention.scratchFloats(stored: max(stored, 2 * attentionScratch.floatsPerThread)))
        }
        if partialsNeeded > attentionPartials.floatsPerThread {
            attentionPartials = Scratch(threads: 1, floatsPerThread: max(partialsNeeded, 2 * attentionPartials.floatsPerThread))
        }
        let w = workspace.prepare(tokens: n, h)
        let d = h.embeddingLength

        // Embeddings.
        let tokens = parts.flatMap(\.tokens)
        let tokenEmbedding = self.tokenEmbedding
        tokens.withUnsafeBufferPointer { tokens in
            pool.parallelFor(n, minChunk: 4) { range, _ in
                for i in range {
                    tokenEmbedding.decodeRow(Int(tokens[i]), into: w.x + i * d)
                    if let s = h.embeddingScale { for j in 0..<d { w.x[i * d + j] *= s } }
                }
            }
        }
        // RoPE tables for each row's position, per distinct (base, scale).
        let half = h.ropeDimensions / 2
        let ropeGlobal = h.rope(layer: h.slidingLayers.firstIndex(of: false) ?? 0)
        let ropeSliding = (h.slidingRopeBase, h.slidingRopeScale)
        for (p, s) in parts.enumerated() {
            for j in 0..<s.tokens.count {
                let i = rowStart[p] + j
                let (block, slot) = s.cache.slot(layer: 0, token: s.cache.count + j)
                let position = block.positions[slot]
                rope.tables(pos: position, base: ropeGlobal.base, scale: ropeGlobal.scale,
                            cos: w.cosG + i * half, sin: w.sinG + i * half)
                rope.tables(pos: position, base: ropeSliding.0, scale: ropeSliding.1,
                            cos: w.cosS + i * half, sin: w.sinS + i * half)
            }
        }
        let rows = zip(parts, rowStart).map { RowRange(cache: $0.cache, start: $1, count: $0.tokens.count) }
        let singles = parts.prefix { $0.tokens.count == 1 }.count
        var segments = singles > 0 ? [Segment(start: 0, count: singles, independentRows: singles > 1)] : []
        for r in rows where r.count > 1 { segments.append(Segment(start: r.start, count: r.count, independentRows: false)) }
        // Rows past the last layer are only the output rows: the rest need its keys and values,
        // not its attention or feed-forward (llama.cpp skips their feed-forward too). A
        // prompt's last chunk then carries one row through the last layer, the others none.
        // llama.cpp's numerics run every row, as the reference does its attention.
        let outputs = zip(parts, rowStart).map { ($1 + $0.outputRows.lowerBound)..<($1 + $0.outputRows.upperBound) }
        let skipRows = !llamaCpp && outputs.reduce(0) { $0 + $1.count } < n
        for l in 0..<h.layerCount {
            runLayer(l, n: n, rows: rows, segments: segments, w: w, llamaCpp: llamaCpp,
                     outputs: skipRows && l == h.layerCount - 1 ? outputs : nil)
        }
        for s in parts { s.cache.commit() }

        // Final norm of the requested rows.
        var o = 0
        outputNorm.withUnsafeBufferPointer { wn in
            for s in batch {
                let start = parts.firstIndex { $0.cache === s.cache }.map { rowStart[$0] } ?? 0
                for i in s.outputRows {
                    rmsNorm(w.x + (start + i) * d, wn.baseAddress!, out + o * d, d, eps: h.rmsEpsilon)
                    o += 1
                }
            }
        }
    }

    /// Where one sequence's rows sit in a batched pass.
    private struct RowRange {
        let cache: SequenceKVCache
        let start: Int
        let count: Int
    }

    /// Rows of a batched pass that go through the matrix products together.
    private struct Segment {
        let start: Int
        let count: Int
        let independentRows: Bool
    }

    /// Layer `l` for the `n` rows of a pass. With `outputs` (each sequence's rows whose hidden
    /// states are returned, as batch rows; the last layer only) the other rows stop once
    /// their keys and values are written.
    private func runLayer(_ l: Int, n: Int, rows: [RowRange], segments: [Segment], w: Workspace.Buffers, llamaCpp: Bool,
                          outputs: [Range<Int>]? = nil) {
        let h = hyperparameters
        let L = layers[l]
        let d = h.embeddingLength
        let qw = h.headCount * h.keyLength, kw = h.kvHeadCount * h.keyLength, vw = h.kvHeadCount * h.valueLength
        let ow = h.headCount * h.valueLength
        let eps = h.rmsEpsilon

        normRows(w.x, L.attentionNorm, w.xb, n: n, width: d)
        for g in segments {
            var attnIn = input(w.xb + g.start * d, n: g.count, cols: d, llamaCpp: llamaCpp, independentRows: g.independentRows)
            WeightMatrix.multiplyAll(MatmulTarget(weights: L.wq, y: w.q + g.start * qw, yStride: qw),
                                     MatmulTarget(weights: L.wk, y: w.k + g.start * kw, yStride: kw),
                                     MatmulTarget(weights: L.wv, y: w.v + g.start * vw, yStride: vw), input: &attnIn, pool: pool)
        }

        let sliding = h.isSliding(l)
        let cosT = sliding ? w.cosS : w.cosG, sinT = sliding ? w.sinS : w.sinG
        let half = h.ropeDimensions / 2
        let qn = L.queryNorm, kn = L.keyNorm
        let rope = self.rope
        // Which sequence each batch row belongs to.
        var owner = [Int](repeating: 0, count: n)
        for (k, r) in rows.enumerated() { for i in r.start..<(r.start + r.count) { owner[i] = k } }
        // A cache that centers its rows takes its offsets from its first batch, so that batch's
        // keys are all roped before any is written.
        let calibrating = rows.contains { $0.cache.needsCalibration(layer: l) }
        owner.withUnsafeBufferPointer { owner in
            // Microseconds a row: the decoded rows of a few agents go on this thread.
            pool.parallelFor(n, minChunk: 4) { range, _ in
                for i in range {
                    for hd in 0..<h.headCount {
                        let p = w.q + i * qw + hd * h.keyLength
                        if let qn { qn.withUnsafeBufferPointer { rmsNorm(p, $0.baseAddress!, p, h.keyLength, eps: eps) } }
                        rope.apply(p, cos: cosT + i * half, sin: sinT + i * half)
                        if h.queryScale != 1 { for j in 0..<h.keyLength { p[j] *= h.queryScale } }
                    }
                    for hd in 0..<h.kvHeadCount {
                        let p = w.k + i * kw + hd * h.keyLength
                        if let kn { kn.withUnsafeBufferPointer { rmsNorm(p, $0.baseAddress!, p, h.keyLength, eps: eps) } }
                        rope.apply(p, cos: cosT + i * half, sin: sinT + i * half)
                    }
                    if calibrating { continue }
                    let r = rows[owner[i]]
                    r.cache.writeKey(layer: l, batchIndex: i - r.start, w.k + i * kw)
                    r.cache.writeValue(layer: l, batchIndex: i - r.start, w.v + i * vw)
                }
            }
            guard calibrating else { return }
            for r in rows {
                r.cache.calibrate(layer: l, keys: w.k + r.start * kw, keyStride: kw, values: w.v + r.start * vw,
                                  valueStride: vw, rows: r.count, queries: w.q + r.start * qw, queryStride: qw, heads: h.headCount)
            }
            pool.parallelFor(n) { range, _ in
                for i in range {
                    let r = rows[owner[i]]
                    r.cache.writeKey(layer: l, batchIndex: i - r.start, w.k + i * kw)
                    r.cache.writeValue(layer: l, batchIndex: i - r.start, w.v + i * vw)
                }
            }
        }
        // Only caches whose compression policy asked for attention statistics do this pass.
        for r in rows {
            r.cache.attentionStatistics?.observe(cache: r.cache, layer: l, queries: w.q + r.start * qw, rows: r.count,
                                                 heads: h.headCount, scoreScale: h.scoreScale,
                                                 window: sliding ? h.slidingWindow : nil)
        }
        func attend(_ sequences: [AttentionSequence]) {
            attention.run(sequences, layer: l, window: sliding ? h.slidingWindow : nil, pool: pool, scratch: attentionScratch,
                          partials: attentionPartials, quantizedQueries: attentionQueries,
                          queryBytes: attentionQueryBytes, llamaCpp: llamaCpp)
        }
        let everyRow = rows.map { AttentionSequence(cache: $0.cache, n: $0.count, q: w.q + $0.start * qw, out: w.att + $0.start * ow) }
        guard let outputs else {
            attend(everyRow)
            finishLayer(L, n: n, segments: segments, w: w, llamaCpp: llamaCpp)
            return
        }
        // Only the output rows go on: packed to the front of the buffers, attention through
        // the end of the layer for them alone, then their states back in place for the final
        // norm. The others' keys and values are in the cache, which is all they were for.
        let kept = outputs.reduce(0) { $0 + $1.count }
        guard kept > 0 else { return }
        if rows.allSatisfy({ attention.takesFastPath(cache: $0.cache, llamaCpp: llamaCpp) }) {
            var packed = 0
            var sequences: [AttentionSequence] = []
            for (r, o) in zip(rows, outputs) where !o.isEmpty {
                sequences.append(AttentionSequence(cache: r.cache, n: o.count, q: w.q + o.lowerBound * qw, out: w.att + packed * ow,
                                                   first: o.lowerBound - r.start, tiled: r.count > 1))
                packed += o.count
            }
            attend(sequences)
        } else {
            attend(everyRow)
            pack(w.att, width: ow, rows: outputs)
        }
        pack(w.x, width: d, rows: outputs)
        // Decoded rows first, as in `segments`, then each prompt chunk's output rows.
        var packedSegments: [Segment] = []
        let singles = zip(rows, outputs).reduce(0) { $0 + ($1.0.count == 1 ? $1.1.count : 0) }
        if singles > 0 { packedSegments.append(Segment(start: 0, count: singles, independentRows: singles > 1)) }
        var packed = singles
        for (r, o) in zip(rows, outputs) where r.count > 1 && !o.isEmpty {
            packedSegments.append(Segment(start: packed, count: o.count, independentRows: false))
            packed += o.count
        }
        finishLayer(L, n: kept, segments: packedSegments, w: w, llamaCpp: llamaCpp)
        unpack(w.x, width: d, rows: outputs)
    }

    /// The layer from its attention output (`w.att`) on, for the first `n` rows: output
    /// projection, feed-forward, residual adds into `w.x`.
    private func finishLayer(_ L: LayerWeights, n: Int, segments: [Segment], w: Workspace.Buffers, llamaCpp: Bool) {
        let h = hyperparameters
        let d = h.embeddingLength, ow = h.headCount * h.valueLength, ff = h.feedForwardLength
        for g in segments {
            var attnOut = input(w.att + g.start * ow, n: g.count, cols: ow, llamaCpp: llamaCpp, independentRows: g.independentRows)
            L.wo.multiply(&attnOut, into: w.xb + g.start * d, yStride: d, pool: pool)
        }
        if let pn = L.postAttentionNorm { normRows(w.xb, pn, w.xb, n: n, width: d) }
        add(w.xb, into: w.x, count: n * d)

        normRows(w.x, L.ffnNorm, w.xb, n: n, width: d)
        for g in segments {
            var ffnIn = input(w.xb + g.start * d, n: g.count, cols: d, llamaCpp: llamaCpp, independentRows: g.independentRows)
            WeightMatrix.multiplyAll(MatmulTarget(weights: L.gate, y: w.gate + g.start * ff, yStride: ff),
                                     MatmulTarget(weights: L.up, y: w.up + g.start * ff, yStride: ff), input: &ffnIn, pool: pool)
        }
        GatedActivationJob(activation: h.activation, gate: w.gate, up: w.up, count: n * ff).run(on: pool)
        for g in segments {
            var ffnHidden = input(w.gate + g.start * ff, n: g.count, cols: ff, llamaCpp: llamaCpp, independentRows: g.independentRows)
            L.down.multiply(&ffnHidden, into: w.xb + g.start * d, yStride: d, pool: pool)
        }
        if let pn = L.postFFNNorm { normRows(w.xb, pn, w.xb, n: n, width: d) }
        add(w.xb, into: w.x, count: n * d)
    }

    /// Moves the listed rows (ascending, disjoint) of `x` to its front, in order.
    private func pack(_ x: UnsafeMutablePointer<Float>, width: Int, rows: [Range<Int>]) {
        var packed = 0
        for r in rows where !r.isEmpty {
            if r.lowerBound != packed { memmove(x + packed * width, x + r.lowerBound * width, r.count * width * 4) }
            packed += r.count
        }
    }

    /// Undoes `pack`: the front rows of `x` back to the listed rows.
    private func unpack(_ x: UnsafeMutablePointer<Float>, width: Int, rows: [Range<Int>]) {
        var packed = rows.reduce(0) { $0 + $1.count }
        for r in rows.reversed() where !r.isEmpty {
            packed -= r.count
            if r.lowerBound != packed { memmove(x + r.lowerBound * width, x + packed * width, r.count * width * 4) }
        }
    }

    private func input(_ x: UnsafePointer<Float>, n: Int, cols: Int, llamaCpp: Bool,
                       independentRows: Bool = false) -> MatmulInput {
        MatmulInput(x, n: n, cols: cols, buffers: activationBuffers, pool: pool, tokenByToken: llamaCpp,
                    independentRows: independentRows)
    }

    private func normRows(_ x: UnsafeMutablePointer<Float>, _ weight: [Float], _ out: UnsafeMutablePointer<Float>,
                          n: Int, width: Int) {
        let eps = hyperparameters.rmsEpsilon
        weight.withUnsafeBufferPointer { wp in
            for i in 0..<n { rmsNorm(x + i * width, wp.baseAddress!, out + i * width, width, eps: eps) }
        }
    }

    private func add(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for j in 0..<count { dst[j] += src[j] }
    }

    /// Logits of `rows` hidden states (`[rows][embeddingLength]`, as `forward` returns) into
    /// `out` (`[rows][vocabularySize]`), with the model's soft-capping.
    /// `independentRows`: each row as if alone (rows of different sequences, see `forward`).
    public func logits(hidden: UnsafePointer<Float>, rows: Int, numerics: Numerics? = nil, independentRows: Bool = false,
                       into out: UnsafeMutablePointer<Float>) {
        lock.lock()
        defer { lock.unlock() }
        let h = hyperparameters
        var x = input(hidden, n: rows, cols: h.embeddingLength, llamaCpp: (numerics ?? self.numerics) == .llamaCpp,
                      independentRows: independentRows)
        output.multiply(&x, into: out, yStride: h.vocabularySize, pool: pool)
        if let cap = h.finalLogitSoftcap {
            for j in 0..<(rows * h.vocabularySize) { out[j] = tanhf(out[j] / cap) * cap }
        }
    }

    /// Logits of `hidden` rows as a new array.
    public func logits(hidden: [Float], numerics: Numerics? = nil) -> [Float] {
        let rows = hidden.count / hyperparameters.embeddingLength
        var out = [Float](repeating: 0, count: rows * hyperparameters.vocabularySize)
        hidden.withUnsafeBufferPointer { hp in
            out.withUnsafeMutableBufferPointer {
                logits(hidden: hp.baseAddress!, rows: rows, numerics: numerics, into: $0.baseAddress!)
            }
        }
        return out
    }
}

/// One sequence's part of a batched forward pass: its new tokens (at `positions`, default
/// consecutive after the cache's last), the cache they are appended to, and which of its rows'
/// hidden states to return.
public struct SequenceBatch: @unchecked Sendable {
    public var tokens: [Int32]
    public var cache: SequenceKVCache
    public var positions: [Int32]?
    public var outputRows: Range<Int>

    public init(tokens: [Int32], cache: SequenceKVCache, positions: [Int32]? = nil, outputRows: Range<Int>) {
        self.tokens = tokens
        self.cache = cache
        self.positions = positions
        self.outputRows = outputRows
    }
}

/// Activation buffers of a forward pass, kept between calls and grown to the largest batch.
final class Workspace: @unchecked Sendable {
    struct Buffers {
        var x, xb, q, k, v, att, gate, up, cosG, sinG, cosS, sinS: UnsafeMutablePointer<Float>
    }

    private var storage: UnsafeMutablePointer<Float>?
    private var capacityTokens = 0
    private var buffers: Buffers?

    func prepare(tokens n: Int, _ h: Hyperparameters) -> Buffers {
        if n <= capacityTokens, let b = buffers { return b }
        storage?.deallocate()
        let cap = max(n, 16)
        let sizes = [h.embeddingLength, h.embeddingLength, h.headCount * h.keyLength, h.kvHeadCount * h.keyLength,
                     h.kvHeadCount * h.valueLength, h.headCount * h.valueLength, h.feedForwardLength,
                     h.feedForwardLength, h.ropeDimensions / 2, h.ropeDimensions / 2, h.ropeDimensions / 2,
                     h.ropeDimensions / 2].map { ($0 * cap + 15) / 16 * 16 }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: sizes.reduce(0, +))
        p.initialize(repeating: 0, count: sizes.reduce(0, +))
        var ptrs: [UnsafeMutablePointer<Float>] = []
        var off = 0
        for s in sizes { ptrs.append(p + off); off += s }
        storage = p
        capacityTokens = cap
        let b = Buffers(x: ptrs[0], xb: ptrs[1], q: ptrs[2], k: ptrs[3], v: ptrs[4], att: ptrs[5], gate: ptrs[6],
                        up: ptrs[7], cosG: ptrs[8], sinG: ptrs[9], cosS: ptrs[10], sinS: ptrs[11])
        buffers = b
        return b
    }

    deinit { storage?.deallocate() }
}
