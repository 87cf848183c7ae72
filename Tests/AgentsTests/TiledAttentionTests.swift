import Foundation
#if arch(x86_64)
import AttentionAVX512
#endif
import KVCache
@testable import Models
import TensorFormats
import Testing

/// The batched (tiled) f16 attention against the decoding path on the same cache and queries:
/// only the summation order of the scores differs, so the outputs agree to rounding.
@Suite struct TiledAttentionTests {
    /// Deterministic values in [-1, 1).
    struct Values {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
    }

    /// One layer's attention kernel and cache shape, random history rows and queries.
    struct Setup {
        let kernel: AttentionKernel
        let config: KVCacheConfiguration
        let history: [Float]
        let queries: [Float]
        let rowFloats: Int

        init(kvHeads: Int, heads: Int, length: Int, window: Int?, tokens: Int, queries n: Int, seed: UInt64,
             storage: KVStorage = .f16) {
            kernel = AttentionKernel(heads: heads, kvHeads: kvHeads, keyLength: length, valueLength: length,
                                     scoreScale: 1 / Float(length).squareRoot())
            config = KVCacheConfiguration(layers: [KVLayerShape(kvHeads: kvHeads, keyLength: length, valueLength: length,
                                                                window: window)], storage: storage, contextLength: 512)
            var values = Values(state: seed)
            rowFloats = kvHeads * length
            history = values.array(tokens * rowFloats * 2, scale: 2)
            queries = values.array(n * heads * length, scale: 3)
        }

        /// Writes history rows `rows` as the cache's next tokens (uncommitted).
        func fill(_ cache: SequenceKVCache, _ rows: Range<Int>) throws {
            try cache.reserve(rows.count)
            history.withUnsafeBufferPointer { h in
                for (i, r) in rows.enumerated() {
                    cache.writeKey(layer: 0, batchIndex: i, h.baseAddress! + 2 * r * rowFloats)
                    cache.writeValue(layer: 0, batchIndex: i, h.baseAddress! + (2 * r + 1) * rowFloats)
                }
            }
        }
    }

    /// Shapes: SmolLM2's grouping, Gemma's, a window, and six query heads a KV head (more than
    /// the wide loops take at once).
    static let shapes: [(Int, Int, Int, Int?)] = [(3, 9, 64, nil), (1, 4, 256, nil), (2, 4, 64, 50), (1, 6, 64, nil)]

    @Test(arguments: shapes)
    func tilesMatchDecoding(kvHeads: Int, heads: Int, length: Int, window: Int?) throws {
        try compareWithDecoding(kvHeads: kvHeads, heads: heads, length: length, window: window, storage: .f16, tolerance: 1e-5)
    }

    /// Over f32 and quantized rows a batch takes the same tiles, its runs widened to floats
    /// (and, for rotated rows, the queries rotated and the outputs rotated back; q4's first
    /// token from its exact copy); decoded tokens read the same widened rows in the decode
    /// loop, over two key slices here (their partial sums merged, then rotated back), so the
    /// two agree to float rounding. A decoded q4 token takes `Q4AttentionJob`, whose keys meet
    /// the query in 8 bits. Centring (q4 on a model's layers) is covered by the real models'
    /// q4 perplexity tests.
    @Test(arguments: [(.f32, 1e-5), (.q8_0, 1e-5), (.q4_0, 1e-5), (KVStorage(.q8_0, rotation: false), 1e-5),
                      (KVStorage(key: .f16, value: .q8_0), 1e-5), (KVStorage(key: .q4_0, value: .f16), 1e-5), (.q4, 0.02)]
                     as [(KVStorage, Float)])
    func widenedRowsMatchDecoding(storage: KVStorage, tolerance: Float) throws {
        for (kvHeads, heads, length, window) in Self.shapes {
            try compareWithDecoding(kvHeads: kvHeads, heads: heads, length: length, window: window, storage: storage,
                                    tolerance: tolerance, depth: 300)
        }
    }

    /// A batch's attention against the same queries decoded one at a time on another cache:
    /// the largest difference of an output, relative to the outputs' largest magnitude.
    func compareWithDecoding(kvHeads: Int, heads: Int, length: Int, window: Int?, storage: KVStorage,
                             tolerance: Float, depth: Int = 190) throws {
        let n = 27  // odd counts: partial runs, a partial query tile, a block boundary
        let setup = Setup(kvHeads: kvHeads, heads: heads, length: length, window: window, tokens: depth + n, queries: n, seed: 7,
                          storage: storage)
        let kernel = setup.kernel, config = setup.config, queries = setup.queries, fill = setup.fill
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        let scratch = Scratch(threads: 2, floatsPerThread: kernel.scratchFloats(stored: 512))
        let partials = Scratch(threads: 1, floatsPerThread: 1 << 16)
        let quantizedQueries = (0..<2).map { _ in try! QuantizedActivations(format: .q8_0, count: length, capacity: 1) }
        let queryBytes = (0..<2).map { _ in ByteActivations(count: length, capacity: 1) }
        func attend(_ cache: SequenceKVCache, queries q: UnsafePointer<Float>, count: Int) -> [Float] {
            var out = [Float](repeating: 0, count: count * heads * length)
            out.withUnsafeMutableBufferPointer { o in
                kernel.run(cache: cache, layer: 0, window: window, n: count, q: q, out: o.baseAddress!, pool: pool,
                           scratch: scratch, partials: partials, quantizedQueries: quantizedQueries, queryBytes: queryBytes,
                           llamaCpp: false)
            }
            return out
        }

        let batched = SequenceKVCache(configuration: config), decoded = SequenceKVCache(configuration: config)
        for c in [batched, decoded] {
            try fill(c, 0..<depth)
            c.commit()
        }
        try fill(batched, depth..<(depth + n))
        let together = queries.withUnsafeBufferPointer { attend(batched, queries: $0.baseAddress!, count: n) }
        batched.commit()
        var alone: [Float] = []
        for i in 0..<n {
            try fill(decoded, (depth + i)..<(depth + i + 1))
            alone += queries.withUnsafeBufferPointer { attend(decoded, queries: $0.baseAddress! + i * heads * length, count: 1) }
            decoded.commit()
        }
        let largest = alone.map(abs).max()!
        var worst: Float = 0
        for (a, b) in zip(together, alone) { worst = max(worst, abs(a - b)) }
        #expect(together.allSatisfy(\.isFinite) && largest > 0.1)
        #expect(worst <= tolerance * largest, "\(storage.description) \(kvHeads)x\(heads)x\(length): largest difference \(worst) of \(largest)")
    }

    /// A batch's tiles only decide which queries share a pass over the keys: every query's
    /// output is the same bits whatever the tile size (so the size can follow the batch and
    /// the thread count) and wherever the tiles start (a batch one query later).
    @Test(arguments: [(3, 9, 64, nil), (2, 4, 64, 40), (1, 4, 256, 50)] as [(Int, Int, Int, Int?)])
    func tileSizeChangesNoBits(kvHeads: Int, heads: Int, length: Int, window: Int?) throws {
        let depth = 150, n = 45
        let setup = Setup(kvHeads: kvHeads, heads: heads, length: length, window: window, tokens: depth + n, queries: n, seed: 11)
        let kernel = setup.kernel, queries = setup.queries
        let cache = SequenceKVCache(configuration: setup.config)
        try setup.fill(cache, 0..<depth)
        cache.commit()
        try setup.fill(cache, depth..<(depth + n))
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        let scratch = Scratch(threads: 2, floatsPerThread: kernel.scratchFloats(stored: 512))
        let partials = Scratch(threads: 1, floatsPerThread: 1 << 16)
        var outputs: [[Float]] = []
        let row = heads * length
        for (tile, skip) in [(8, 0), (16, 0), (FastAttentionJob.maxQueryTile, 0), (8, 1), (16, 1)] {
            var out = [Float](repeating: .nan, count: n * row)
            out.withUnsafeMutableBufferPointer { o in
                queries.withUnsafeBufferPointer { q in
                    let call = AttentionCall(kernel: kernel, cache: cache, layer: 0, window: window,
                                             q: q.baseAddress! + skip * row, out: o.baseAddress! + skip * row,
                                             scratch: scratch, first: skip)
                    let job = FastAttentionJob(call: call, partials: partials.buffer(0), slices: 1, tokens: n - skip,
                                               queryTile: tile)
                    pool.run(chunks: job.chunks, job: job)
                }
            }
            #expect(out[(skip * row)...].allSatisfy { $0.isFinite })
            outputs.append(Array(out[row...]))
        }
        for other in outputs.dropFirst() {
            let differing = zip(other, outputs[0]).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(differing) of \(other.count) outputs differ")
        }
    }

    /// Tiles as large as leave each thread two chunks; one when the batch is short next to its
    /// history (its queries then see nearly the same keys: equal chunks are equal work).
    @Test func tileSizeFollowsBatchAndDepth() {
        // A warm agent on Gemma (one KV head): 64 new tokens after 4,096 in two tiles of 32.
        #expect(FastAttentionJob.queryTile(tokens: 64, depth: 4096, kvHeads: 1, threads: 2) == 32)
        // The same batch at the start of a prompt: its last queries see far more keys.
        #expect(FastAttentionJob.queryTile(tokens: 64, depth: 0, kvHeads: 1, threads: 2) == 16)
        #expect(FastAttentionJob.queryTile(tokens: 64, depth: 200, kvHeads: 1, threads: 2) == 16)
        // Three KV heads (SmolLM2) make chunks of their own.
        #expect(FastAttentionJob.queryTile(tokens: 64, depth: 0, kvHeads: 3, threads: 2) == 32)
        #expect(FastAttentionJob.queryTile(tokens: 256, depth: 0, kvHeads: 1, threads: 2) == 32)
        #expect(FastAttentionJob.queryTile(tokens: 20, depth: 0, kvHeads: 1, threads: 2) == 8)
    }

    /// The 8-lane score loop with two queries a pass (groups of up to three heads) gives each
    /// query the bits it gets alone.
    @Test(arguments: [64, 256])
    func narrowPairsGiveTheSameBits(length n: Int) {
        var values = Values(state: 9)
        let run = FastAttentionJob.run, pair = 4 * n
        let kt = values.array(n * run, scale: 2), q = values.array(2 * pair, scale: 3)
        for group in 1...3 {
            for keys in [8, 16, 24, 32] {
                var alone = [Float](repeating: 0, count: pair + 4 * run), together = alone
                kt.withUnsafeBufferPointer { k in
                    q.withUnsafeBufferPointer { q in
                        for i in 0..<2 {
                            tileScores(q.baseAddress! + i * pair, group: group, k.baseAddress!, n, keys: keys, scale: 0.125,
                                       into: &alone[i * pair], stride: run)
                        }
                        tileScores(q.baseAddress!, group: group, k.baseAddress!, n, keys: keys, scale: 0.125, into: &together,
                                   stride: run, queries: 2, queryStride: pair)
                    }
                }
                for i in 0..<2 {
                    for h in 0..<group {
                        let lanes = (i * pair + h * run)..<(i * pair + h * run + keys)
                        #expect(alone[lanes].map(\.bitPattern) == together[lanes].map(\.bitPattern),
                                "group \(group), \(keys) keys, query \(i), head \(h)")
                    }
                }
            }
        }
    }

    /// The 8-lane value loop with two queries a pass (groups of up to three heads) gives each
    /// query the sums it gets alone, over f16 and f32 rows listed with gaps.
    @Test(arguments: [64, 256])
    func narrowValuePairsGiveTheSameBits(length n: Int) {
        var values = Values(state: 13)
        let run = FastAttentionJob.run, pair = 4 * n
        // 64 rows of two KV heads; the second head's values are summed.
        let floats = values.array(64 * 2 * n, scale: 2), halves = floats.map { Float16($0) }
        let listed: [Int32] = (0..<32).map { Int32(2 * $0 + ($0 % 3 == 0 ? 1 : 0)) }
        let weights = values.array(pair + 4 * run), start = values.array(2 * pair)
        func sums(group: Int, rows c: Int, f32: Bool, queries: Int) -> [Float] {
            var acc = start
            let bytes = f32 ? 4 : 2
            func accumulate(_ base: UnsafeRawPointer) {
                let rows = ValueRows(base: base + bytes * n, rowBytes: 2 * bytes * n, floats: f32)
                listed.withUnsafeBufferPointer { r in
                    weights.withUnsafeBufferPointer { w in
                        acc.withUnsafeMutableBufferPointer { a in
                            if queries == 2 {
                                groupAccumulate(rows, rows: r.baseAddress!, c, n, weights: w.baseAddress!, stride: run,
                                                group: group, into: a.baseAddress!, queries: 2, queryStride: pair)
                            } else {
                                for i in 0..<2 {
                                    groupAccumulate(rows, rows: r.baseAddress!, c, n, weights: w.baseAddress! + i * pair,
                                                    stride: run, group: group, into: a.baseAddress! + i * pair)
                                }
                            }
                        }
                    }
                }
            }
            if f32 { floats.withUnsafeBytes { accumulate($0.baseAddress!) } } else { halves.withUnsafeBytes { accumulate($0.baseAddress!) } }
            return acc
        }
        for group in 1...3 {
            for c in [1, 7, 32] {
                for f32 in [false, true] {
                    let alone = sums(group: group, rows: c, f32: f32, queries: 1)
                    let together = sums(group: group, rows: c, f32: f32, queries: 2)
                    let differing = zip(alone, together).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "group \(group), \(c) rows, f32 \(f32)")
                    #expect(alone[..<pair] != start[..<pair] && alone[pair...] != start[pair...])
                }
            }
        }
    }

    #if arch(x86_64)
    /// `WideTiles.transpose` lays out a run's keys as the 8 x 8 path does, f16 rows (in the
    /// cache, a KV head's slice of each row) and f32 rows alike, for short and partial runs; the
    /// columns past the keys it writes are zero.
    @Test(.enabled(if: ByteKernels.avx512VNNI.isAvailable), arguments: [16, 64, 256])
    func wideTransposeMatches(length n: Int) throws {
        var values = Values(state: 11)
        let run = FastAttentionJob.run
        let config = KVCacheConfiguration(layers: [KVLayerShape(kvHeads: 2, keyLength: n, valueLength: n, window: nil)],
                                          contextLength: 64)
        let cache = SequenceKVCache(configuration: config)
        try cache.reserve(40)
        let rows = values.array(40 * 2 * n, scale: 4)
        rows.withUnsafeBufferPointer { r in
            for i in 0..<40 {
                cache.writeKey(layer: 0, batchIndex: i, r.baseAddress! + 2 * i * n)
                cache.writeValue(layer: 0, batchIndex: i, r.baseAddress! + 2 * i * n)
            }
        }
        cache.commit()
        let block = cache.slot(layer: 0, token: 0).0
        for slot in [0, 3] {
            for m in [1, 7, 8, 16, 17, 31, 32] {
                let poison = Float.nan
                var narrow = [Float](repeating: poison, count: n * run), wide = narrow
                var narrowRows = narrow, wideRows = narrow
                transposeHalfRows(UnsafeRawPointer(block.key(slot)) + 2 * n, rowBytes: block.keyRowBytes, m, n, into: &narrow, stride: run)
                WideTiles.transpose(rows: UnsafeRawPointer(block.key(slot)) + 2 * n, rowBytes: block.keyRowBytes, count: m, n: n,
                                    floats: false, into: &wide, stride: run)
                let floats = (0..<m).flatMap { u in
                    (0..<n).map { Float(UnsafeRawPointer(block.key(slot + u) + 2 * n).loadUnaligned(fromByteOffset: 2 * $0, as: Float16.self)) }
                }
                floats.withUnsafeBufferPointer { f in
                    transposeRows(f.baseAddress!, m, n, into: &narrowRows, stride: run)
                    WideTiles.transpose(rows: UnsafeRawPointer(f.baseAddress!), rowBytes: 4 * n, count: m, n: n, floats: true,
                                        into: &wideRows, stride: run)
                }
                let written = m <= 16 ? 16 : 32
                for d in 0..<n {
                    let keys = (d * run)..<(d * run + m), padding = (d * run + m)..<(d * run + written)
                    #expect(narrow[keys].map(\.bitPattern) == wide[keys].map(\.bitPattern), "f16, slot \(slot), \(m) keys, d \(d)")
                    #expect(narrowRows[keys].map(\.bitPattern) == wideRows[keys].map(\.bitPattern), "f32, \(m) keys, d \(d)")
                    #expect(narrow[keys].map(\.bitPattern) == narrowRows[keys].map(\.bitPattern))
                    #expect(wide[padding].allSatisfy { $0 == 0 } && wideRows[padding].allSatisfy { $0 == 0 }, "padding, \(m) keys")
                }
            }
        }
    }

    /// The 512-bit inner loops (`WideTiles`, used where the CPU has AVX-512) give the 8-lane
    /// loops' bits: scores for 1-4 heads, 8-32 keys, and value sums over listed rows, for one
    /// query a pass or two.
    @Test(.enabled(if: ByteKernels.avx512VNNI.isAvailable), arguments: [64, 256])
    func wideLoopsGiveTheSameBits(length n: Int) throws {
        var values = Values(state: 5)
        let run = FastAttentionJob.run
        // Two queries a pass: the second's heads and scores `pair` floats after the first's.
        let pair = 4 * n
        let kt = values.array(n * run, scale: 2), q = values.array(2 * pair, scale: 3)
        for group in 1...4 {
            for keys in [8, 16, 24, 32] {
                var narrow = [Float](repeating: 0, count: pair + 4 * run), wide = narrow, wideTwo = narrow
                kt.withUnsafeBufferPointer { k in
                    q.withUnsafeBufferPointer { q in
                        for i in 0..<2 {
                            tileScores(q.baseAddress! + i * pair, group: group, k.baseAddress!, n, keys: keys, scale: 0.125,
                                       into: &narrow[i * pair], stride: run)
                        }
                        WideTiles.scores(q: q.baseAddress!, group: group, kt: k.baseAddress!, n: n, keys: keys, scale: 0.125,
                                         out: &wide, stride: run)
                        WideTiles.scores(q: q.baseAddress!, group: group, kt: k.baseAddress!, n: n, keys: keys, scale: 0.125,
                                         out: &wideTwo, stride: run, queries: 2, queryStride: pair)
                    }
                }
                for i in 0..<2 {
                    for h in 0..<group {
                        let lanes = (i * pair + h * run)..<(i * pair + h * run + keys)
                        let a = narrow[lanes].map(\.bitPattern), b = wideTwo[lanes].map(\.bitPattern)
                        #expect(a == b, "scores of two queries, group \(group), \(keys) keys, query \(i), head \(h)")
                        if i == 0 { #expect(a == wide[lanes].map(\.bitPattern), "scores, group \(group), \(keys) keys, head \(h)") }
                    }
                }
            }
        }

        // Value sums: a block of 64 rows of 2 KV heads, rows listed with gaps, head 1's values.
        let config = KVCacheConfiguration(layers: [KVLayerShape(kvHeads: 2, keyLength: n, valueLength: n, window: nil)],
                                          contextLength: 128)
        let cache = SequenceKVCache(configuration: config)
        try cache.reserve(64)
        let rows = values.array(64 * 2 * n * 2, scale: 2)
        rows.withUnsafeBufferPointer { r in
            for i in 0..<64 {
                cache.writeKey(layer: 0, batchIndex: i, r.baseAddress! + 4 * i * n)
                cache.writeValue(layer: 0, batchIndex: i, r.baseAddress! + (4 * i + 2) * n)
            }
        }
        cache.commit()
        let block = cache.slot(layer: 0, token: 0).0
        let listed: [Int32] = (0..<32).map { Int32(2 * $0 + ($0 % 3 == 0 ? 1 : 0)) }
        let weights = values.array(pair + 4 * run), start = values.array(2 * pair)
        for group in 1...4 {
            for c in [1, 7, 32] {
                var narrow = start, wide = start, wideTwo = start
                listed.withUnsafeBufferPointer { r in
                    weights.withUnsafeBufferPointer { w in
                        let rows = ValueRows(base: UnsafeRawPointer(block.values) + 2 * n, rowBytes: block.valueRowBytes,
                                             floats: false)
                        for i in 0..<2 {
                            groupAccumulate(rows, rows: r.baseAddress!, c, n, weights: w.baseAddress! + i * pair,
                                            stride: run, group: group, into: &narrow[i * pair])
                        }
                        WideTiles.accumulate(values: UnsafeRawPointer(block.values) + 2 * n, rowBytes: block.valueRowBytes,
                                             rows: r.baseAddress!, count: c, n: n, weights: w.baseAddress!, stride: run,
                                             group: group, acc: &wide)
                        WideTiles.accumulate(values: UnsafeRawPointer(block.values) + 2 * n, rowBytes: block.valueRowBytes,
                                             rows: r.baseAddress!, count: c, n: n, weights: w.baseAddress!, stride: run,
                                             group: group, acc: &wideTwo, queries: 2, queryStride: pair)
                    }
                }
                // The same rows widened to f32 beforehand (as quantized rows are): the same sums.
                var narrowFloats = start, wideFloats = start
                let floatRows = (0..<64).flatMap { i in
                    (0..<n).map { Float(UnsafeRawPointer(block.value(i) + 2 * n).loadUnaligned(fromByteOffset: 2 * $0, as: Float16.self)) }
                }
                listed.withUnsafeBufferPointer { r in
                    weights.withUnsafeBufferPointer { w in
                        floatRows.withUnsafeBytes { f in
                            groupAccumulate(ValueRows(base: f.baseAddress!, rowBytes: 4 * n, floats: true), rows: r.baseAddress!, c, n,
                                            weights: w.baseAddress!, stride: run, group: group, into: &narrowFloats)
                            WideTiles.accumulate(values: f.baseAddress!, rowBytes: 4 * n, rows: r.baseAddress!, count: c, n: n,
                                                 weights: w.baseAddress!, stride: run, group: group, acc: &wideFloats, floats: true,
                                                 queries: 2, queryStride: pair)
                        }
                    }
                }
                #expect(narrowFloats[..<pair].map(\.bitPattern) == narrow[..<pair].map(\.bitPattern), "f32 rows, group \(group)")
                #expect(wideFloats.map(\.bitPattern) == narrow.map(\.bitPattern), "f32 rows, two queries, group \(group)")
                #expect(narrow.map(\.bitPattern) == wideTwo.map(\.bitPattern), "value sums of two queries, group \(group), \(c) rows")
                #expect(narrow[..<pair].map(\.bitPattern) == wide[..<pair].map(\.bitPattern), "value sums, group \(group), \(c) rows")
                #expect(wide[pair...] == start[pair...], "one query's pass leaves the next query's sums alone")
                #expect(narrow[..<pair] != start[..<pair] && narrow[pair...] != start[pair...])
            }
        }

        // The softmax's exponentials and lane sums: scores around the shift, masked ones (-inf),
        // some far below it (flushed to 0).
        for shift: Float in [0, 3.5, -12] {
            var scores = values.array(32, scale: 20).enumerated().map { $0.offset % 5 == 4 ? -.infinity : $0.element + shift }
            scores[7] = shift - 100
            let lanes = values.array(16)
            var narrow = scores, wide = scores, narrowLanes = lanes, wideLanes = lanes
            runExponentials(&narrow, shift: shift, lanes: &narrowLanes)
            WideTiles.exponentials(&wide, shift: shift, lanes: &wideLanes)
            #expect(narrow.map(\.bitPattern) == wide.map(\.bitPattern), "exponentials, shift \(shift)")
            #expect(narrowLanes.map(\.bitPattern) == wideLanes.map(\.bitPattern), "lane sums, shift \(shift)")
            #expect(narrow[4] == 0 && narrow[7] == 0 && narrowLanes != lanes)
            #expect(abs(Double(narrow[0]) - Foundation.exp(Double(scores[0] - shift))) <= 1e-6 * max(1, Double(narrow[0])))
        }
    }
    #endif
}
