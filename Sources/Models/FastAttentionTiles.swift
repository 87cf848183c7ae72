import CPrefetch
import Foundation
import KVCache
import TensorFormats
#if arch(x86_64)
import _Builtin_intrinsics.intel
import AttentionAVX512
#endif

/// A prefill batch's attention, a tile of queries per chunk.
///
/// Each run of up to `run` key slots is read once for the whole tile: per KV head its keys are
/// widened and transposed (`[keyLength][run]`), so every query's scores come out eight keys per
/// vector, each summed over the head dimension in order, with no horizontal reductions; and its
/// value rows serve every query while they sit in L1. Rows stored as f32, Q8_0 or Q4_0 are
/// widened to f32 once per run and tile (exactly: no rounding), rotated rows met by rotating
/// the queries and the outputs back. A query's floats depend only on the query
/// and the cache (never on which tile or batch it came in), so a prompt gives the same result
/// however it is cut into chunks. Scaled to a batch at depth (64 new tokens after 4,096), this
/// is what makes a warm agent's new message cheap.
extension FastAttentionJob {
    /// The most queries per chunk.
    static let maxQueryTile = 32

    /// Queries per chunk for a batch of `n` after `depth` stored keys: as many (up to 32) as
    /// still leave every thread two chunks or more, or one when the batch is short next to its
    /// history (every query then sees nearly the same keys, so equal chunks are equal work).
    /// Each run of keys and values is read and transposed once per tile, so a warm agent's 64
    /// new tokens read its 4,096-token history twice rather than eight times; a query's floats
    /// do not depend on the tile it is in.
    static func queryTile(tokens n: Int, depth: Int, kvHeads: Int, threads: Int) -> Int {
        let perThread = depth >= 4 * n ? 1 : 2
        for tile in [maxQueryTile, 16] where (n + tile - 1) / tile * kvHeads >= perThread * threads { return tile }
        return 8
    }

    /// Whether tiles run their inner loops over 512-bit registers (`WideTiles`: the same bits,
    /// half the instructions), on CPUs with AVX-512 unless `RDIC_KERNELS=avx2`.
    #if arch(x86_64)
    static let wideTiles = ByteKernels.preferred == .avx512VNNI && run == WideTiles.run
    #else
    static let wideTiles = false
    #endif

    /// A run's transposed keys, its keys and values as floats (caches that are not f16), then
    /// the tile's queries.
    static func tileScratchFloats(_ k: AttentionKernel) -> Int {
        run * (2 * k.keyLength + k.valueLength) + maxQueryTile * tileQueryFloats(k)
    }

    /// Whether a batch over a cache of `storage` can go through `runTile`: f16 rows are read as
    /// they are, f32, Q8_0 and Q4_0 rows are widened a run at a time, and so are q4 ones (keys
    /// and values both q4, as `Q4AttentionJob` takes them, with their centring undone around
    /// the scores and the outputs).
    static func tiles(_ storage: KVStorage) -> Bool {
        if storage.key == .q4 || storage.value == .q4 { return storage.key == storage.value }
        let widened: [KVElementType] = [.f32, .f16, .q8_0, .q4_0]
        return widened.contains(storage.key) && widened.contains(storage.value)
    }

    /// One tile query's state: its heads as the keys are stored, a run's scores, the weighted
    /// sums, per head the maximum and the 16 lanes of the softmax total, then the run's visible
    /// rows.
    static func tileQueryFloats(_ k: AttentionKernel) -> Int {
        k.heads * (k.keyLength + run + k.valueLength + 1 + 16) + run
    }

    /// A query's state before its first key for `only` of its heads (default all; buffers are
    /// indexed by head either way): the heads rounded to f16 over f16 keys (as llama.cpp's flash
    /// attention rounds them), as the stored keys were transformed over others (q4: times the
    /// key scales; then rotated), empty sums.
    @inline(__always)
    func start(query i: Int, qs: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>,
               maxes: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, only: Range<Int>? = nil) {
        let heads = kernel.heads, kl = kernel.keyLength, vl = kernel.valueLength
        let hs = only ?? 0..<heads
        (qs + hs.lowerBound * kl).update(from: q + (i * heads + hs.lowerBound) * kl, count: hs.count * kl)
        let storage = cache.configuration.storage
        if storage.key == .f16 { roundToHalf(qs + hs.lowerBound * kl, hs.count * kl) }
        if storage.key.centers, let offsets = cache.rowOffsets[layer] {
            let group = heads / kernel.kvHeads
            if !offsets.keyScales.isEmpty {
                for h in hs {
                    for j in 0..<kl { qs[h * kl + j] *= offsets.keyScales[(h / group) * kl + j] }
                }
            }
        }
        if storage.rotatesKeys {
            for h in hs { hadamardRotate(qs + h * kl, count: kl) }
        }
        for h in hs {
            maxes[h] = -.infinity
            sums[h] = 0
        }
        (acc + hs.lowerBound * vl).initialize(repeating: 0, count: hs.count * vl)
    }

    /// The online softmax step for `heads` over `c` new scores each (`scores[h * run + u]`,
    /// replaced by their weights): a larger maximum rescales what was summed so far.
    @inline(__always)
    func absorb(heads: Range<Int>, _ c: Int, scores sc: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>,
                maxes: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        absorbScores(heads: heads, c, run: Self.run, valueLength: kernel.valueLength, scores: sc, acc: acc, maxes: maxes, sums: sums)
    }

    /// `absorb` for a tile query's run of `c` scores per head (`scores[h * run + u]`, replaced
    /// by their weights), its totals kept in 16 lanes per head (`lanes[16 * h ..< 16 * h + 16]`:
    /// key u of every run adds into lane u % 16) and added up once, at the end. The maximum is
    /// a tree of vector maxima and nothing is summed across lanes per run: the per-run
    /// horizontal sums and scalar maximum were a chain of dependent steps as long as the
    /// run's multiply-adds. A query's floats still depend only on the query and the cache.
    @inline(__always)
    func absorbRun(heads: Range<Int>, _ c: Int, scores sc: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>,
                   maxes: UnsafeMutablePointer<Float>, lanes: UnsafeMutablePointer<Float>) {
        let run = Self.run, vl = kernel.valueLength
        for h in heads {
            let s = sc + h * run
            for u in c..<run { s[u] = -.infinity }
            let v0 = load8(s, 0), v1 = load8(s, 8), v2 = load8(s, 16), v3 = load8(s, 24)
            let m = largestLane(larger(larger(v0, v1), larger(v2, v3)))
            let lo = lanes + 16 * h
            if m > maxes[h] {
                if maxes[h] > -.infinity {
                    let f = expf(maxes[h] - m)
                    scale(acc + h * vl, f, vl)
                    store8(load8(lo, 0) * f, lo, 0)
                    store8(load8(lo, 8) * f, lo, 8)
                }
                maxes[h] = m
            }
            #if arch(x86_64)
            if Self.wideTiles {
                WideTiles.exponentials(s, shift: maxes[h], lanes: lo)
                continue
            }
            #endif
            runExponentials(s, shift: maxes[h], lanes: lo)
        }
    }

    /// Query `i`'s output for `only` of its heads (default all): the weighted sums divided by
    /// the softmax totals.
    @inline(__always)
    func finish(query i: Int, acc: UnsafePointer<Float>, sums: UnsafePointer<Float>, only: Range<Int>? = nil) {
        let heads = kernel.heads, vl = kernel.valueLength
        for h in only ?? 0..<heads {
            let o = out + (i * heads + h) * vl
            let inv: Float = sums[h] == 0 ? 0 : 1 / sums[h]
            for j in 0..<vl { o[j] = acc[h * vl + j] * inv }
            restore(o, head: h)
        }
    }

    /// Stored values were rotated (and, q4, centered): so is a head's normalized weighted sum
    /// `o`; undoes both.
    @inline(__always)
    func restore(_ o: UnsafeMutablePointer<Float>, head h: Int) {
        let storage = cache.configuration.storage, vl = kernel.valueLength
        if storage.rotatesValues { hadamardRotate(o, count: vl) }
        if storage.value.centers, let offsets = cache.rowOffsets[layer] {
            let g = h / (kernel.heads / kernel.kvHeads)
            offsets.values.withUnsafeBufferPointer { nu in for j in 0..<vl { o[j] += nu[g * vl + j] } }
        }
    }

    /// `tileScores` of one query's `group` heads (`q`) over a run's transposed keys, over
    /// 512-bit registers where `wide` (the same bits), and with `queries: 2` also the next
    /// query's, `queryStride` floats on (8-lane: up to 3 heads).
    @inline(__always)
    private func scores(wide: Bool, _ q: UnsafePointer<Float>, group: Int, _ kt: UnsafePointer<Float>, keys: Int,
                        into out: UnsafeMutablePointer<Float>, queries: Int, queryStride: Int) {
        #if arch(x86_64)
        if wide {
            return WideTiles.scores(q: q, group: group, kt: kt, n: kernel.keyLength, keys: keys, scale: kernel.scoreScale,
                                    out: out, stride: Self.run, queries: queries, queryStride: queryStride)
        }
        #endif
        tileScores(q, group: group, kt, kernel.keyLength, keys: keys, scale: kernel.scoreScale, into: out, stride: Self.run,
                   queries: queries, queryStride: queryStride)
    }

    /// `groupAccumulate` of the listed value rows (`values`, f16 or f32, rows `rowBytes` apart)
    /// into one query's `group` sums, over 512-bit registers where `wide` (the same bits), and
    /// with `queries: 2` also the next query's, `queryStride` floats on (8-lane: up to 3 heads).
    @inline(__always)
    private func accumulate(wide: Bool, _ values: ValueRows, rows: UnsafePointer<Int32>, _ c: Int, group: Int,
                            weights: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>, queries: Int,
                            queryStride: Int) {
        let vl = kernel.valueLength
        #if arch(x86_64)
        if wide {
            return WideTiles.accumulate(values: values.base, rowBytes: values.rowBytes, rows: rows, count: c, n: vl,
                                        weights: weights, stride: Self.run, group: group, acc: acc, floats: values.floats,
                                        queries: queries, queryStride: queryStride)
        }
        #endif
        groupAccumulate(values, rows: rows, c, vl, weights: weights, stride: Self.run, group: group, into: acc,
                        queries: queries, queryStride: queryStride)
    }

    /// Rows `slot ..< slot + m` of `block` (tokens `token...`) for KV head `g`, keys or values,
    /// as floats (`[m][length]`): f32, Q8_0 and Q4_0 rows dequantized; q4 rows decoded from
    /// their codes, or read from their exact f16 copies for the first tokens (the attention
    /// sinks), as `Q4AttentionJob` reads them.
    private func widen(keys: Bool, _ block: KVBlock, slot: Int, count m: Int, token: Int, kvHead g: Int,
                       into dst: UnsafeMutablePointer<Float>) {
        let storage = cache.configuration.storage
        let type = keys ? storage.key : storage.value, n = keys ? kernel.keyLength : kernel.valueLength
        @inline(__always) func row(_ u: Int) -> UnsafeMutableRawPointer { keys ? block.key(slot + u) : block.value(slot + u) }
        guard type == .q4 else {
            let bytes = keys ? type.keyRowBytes(n) : type.valueRowBytes(n)
            for u in 0..<m { try! dequantize(type.ggmlType, from: row(u) + g * bytes, count: n, into: dst + u * n) }
            return
        }
        let format = keys ? Q4Layout.current.keys : Q4Layout.current.values, bytes = format.rowBytes(n)
        let exactTokens = cache.exactRows?.tokens[layer] ?? 0
        for u in 0..<m {
            if token + u < exactTokens, let exact = cache.exactRows {
                let e = (keys ? exact.key(layer: layer, token: token + u) : exact.value(layer: layer, token: token + u)) + g * n
                for j in 0..<n { dst[u * n + j] = Float(e[j]) }
            } else {
                format.dequantize(row(u) + g * bytes, count: n, into: dst + u * n)
            }
        }
        guard keys, let centring = cache.keyCentrings[layer], let offsets = cache.rowOffsets[layer] else { return }
        // Keys were stored less their span's offset, then divided by the key scales and rotated:
        // each gets that offset back, transformed alike, so the scores need no correction per
        // query (`Q4AttentionJob` adds one). A layer's one offset (no centring) shifts all of
        // a query's scores alike, which the softmax ignores.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { buffer in
            let offset = buffer.baseAddress!
            var span = -1
            for u in 0..<m {
                let position = block.positions[slot + u]
                if centring.spanIndex(position) != span {
                    span = centring.spanIndex(position)
                    offsets.keys.withUnsafeBufferPointer { mean in
                        centring.offset(mean: mean.baseAddress! + g * n, heads: 1, keyLength: n, position: position, into: offset)
                    }
                    if !offsets.keyScales.isEmpty { for j in 0..<n { offset[j] /= offsets.keyScales[g * n + j] } }
                    if storage.rotatesKeys { hadamardRotate(offset, count: n) }
                }
                for j in 0..<n { dst[u * n + j] += offset[j] }
            }
        }
    }

    /// A run's `m` keys (f16 rows, or f32 with `floats`; `rowBytes` apart) transposed into `kt`
    /// (`[keyLength][run]`): in 512-bit registers where `wide`, else 8 x 8 at a time.
    @inline(__always)
    private func transposeRun(_ rows: UnsafeRawPointer, rowBytes: Int, floats: Bool, count m: Int, wide: Bool,
                              into kt: UnsafeMutablePointer<Float>) {
        let n = kernel.keyLength
        #if arch(x86_64)
        if wide && n % 16 == 0 {
            return WideTiles.transpose(rows: rows, rowBytes: rowBytes, count: m, n: n, floats: floats, into: kt, stride: Self.run)
        }
        #endif
        if floats {
            transposeRows(rows.assumingMemoryBound(to: Float.self), m, n, into: kt, stride: Self.run)
        } else {
            transposeHalfRows(rows, rowBytes: rowBytes, m, n, into: kt, stride: Self.run)
        }
    }

    /// Fetches into L2 KV head `g`'s keys and values of the run after the one ending at slot
    /// `runEnd` of `block` (whose stored rows end at `end`): the rest of this block, else the
    /// first slots of the block holding `nextToken`. Blocks are separate allocations of 64
    /// rows, so the hardware prefetcher stops every other run; a tile then waited on the cache
    /// for its keys' transpose.
    @inline(__always)
    private func prefetchRun(after runEnd: Int, end: Int, block: KVBlock, nextToken: Int, kvHead g: Int) {
        let target: KVBlock, slots: Range<Int>
        if runEnd < end {
            (target, slots) = (block, runEnd..<min(end, runEnd + Self.run))
        } else if nextToken < stored.upperBound {
            let (b, s) = cache.slot(layer: layer, token: nextToken)
            (target, slots) = (b, s..<min(s + Self.run, s + stored.upperBound - nextToken, cache.configuration.blockTokens))
        } else {
            return
        }
        let storage = cache.configuration.storage
        let keyBytes = storage.key.keyRowBytes(kernel.keyLength), valueBytes = storage.value.valueRowBytes(kernel.valueLength)
        for slot in slots {
            rdic_prefetch_later(target.key(slot) + g * keyBytes, keyBytes)
            rdic_prefetch_later(target.value(slot) + g * valueBytes, valueBytes)
        }
    }

    /// Queries `tile * queryTile ..< +queryTile` of the batch, the query heads of KV head `g`,
    /// over every stored key. KV heads are chunks of their own: their work shares nothing but
    /// the visible rows, so SmolLM2's three KV heads let a tile be larger for the same number
    /// of chunks (two threads finish a layer together), and each chunk's state is a third as
    /// large.
    func runTile(_ tile: Int, kvHead g: Int, worker: Int) {
        let heads = kernel.heads, group = heads / kernel.kvHeads
        let kl = kernel.keyLength, vl = kernel.valueLength
        let run = Self.run
        let first = tile * queryTile, count = min(queryTile, tokens - first)
        let groupHeads = (g * group)..<((g + 1) * group)
        let wideScores = Self.wideTiles && group <= 4, wideValues = wideScores && vl % 32 == 0
        // Two queries a pass where the loops take them: the wide ones, or 8-lane up to 3 heads.
        let pairScores = wideScores || group <= 3, pairValues = wideValues || group <= 3
        let storage = cache.configuration.storage
        let buf = scratch.buffer(worker)
        let kt = buf                                   // [kl][run]: one KV head's keys, transposed
        let keyRows = kt + kl * run                    // [run][kl], [run][vl]: widened rows
        let valueRows = keyRows + run * kl
        let perQuery = Self.tileQueryFloats(kernel)
        // Query t's state: [heads][kl] queries, [heads][run] scores, [heads][vl] sums, maximums,
        // [heads][16] lanes of the totals, then the run's visible rows (from the run's start).
        @inline(__always) func qs(_ t: Int) -> UnsafeMutablePointer<Float> { valueRows + run * vl + t * perQuery }
        @inline(__always) func sc(_ t: Int) -> UnsafeMutablePointer<Float> { qs(t) + heads * kl }
        @inline(__always) func acc(_ t: Int) -> UnsafeMutablePointer<Float> { sc(t) + heads * run }
        @inline(__always) func maxes(_ t: Int) -> UnsafeMutablePointer<Float> { acc(t) + heads * vl }
        @inline(__always) func lanes(_ t: Int) -> UnsafeMutablePointer<Float> { maxes(t) + heads }
        @inline(__always) func rows(_ t: Int) -> UnsafeMutablePointer<Int32> {
            UnsafeMutableRawPointer(lanes(t) + 16 * heads).assumingMemoryBound(to: Int32.self)
        }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * count) { temp in
            let qpos = temp.baseAddress!, visible = qpos + count
            for t in 0..<count {
                start(query: first + t, qs: qs(t), acc: acc(t), maxes: maxes(t), sums: lanes(t), only: groupHeads)
                (lanes(t) + 16 * groupHeads.lowerBound).initialize(repeating: 0, count: 16 * group)
                let (qb, qslot) = cache.slot(layer: layer, token: base + first + t)
                qpos[t] = qb.positions[qslot]
            }
            let bt = cache.configuration.blockTokens
            var t0 = stored.lowerBound
            while t0 < stored.upperBound {
                let (block, s0) = cache.slot(layer: layer, token: t0)
                let end = s0 + min(bt - s0, stored.upperBound - t0)
                var s = s0
                while s < end {
                    let runEnd = min(end, s + run), m = runEnd - s
                    prefetchRun(after: runEnd, end: end, block: block, nextToken: t0 + (end - s0), kvHead: g)
                    var anyVisible = false
                    // A run wholly in a query's past (and window) needs no check per slot: at
                    // depth nearly every run is.
                    var oldest = Int32.max, newest = Int32.min
                    for slot in s..<runEnd {
                        oldest = min(oldest, block.positions[slot])
                        newest = max(newest, block.positions[slot])
                    }
                    for t in 0..<count {
                        let r = rows(t), p = qpos[t]
                        if newest <= p && (window == nil || p - oldest < Int32(window!)) {
                            for u in 0..<m { r[u] = Int32(truncatingIfNeeded: u) }
                            visible[t] = Int32(m)
                            anyVisible = true
                            continue
                        }
                        var c: Int32 = 0
                        for slot in s..<runEnd {
                            let kp = block.positions[slot]
                            if kp <= p && (window == nil || p - kp < Int32(window!)) {
                                r[Int(c)] = Int32(slot - s)
                                c += 1
                            }
                        }
                        visible[t] = c
                        anyVisible = anyVisible || c > 0
                    }
                    if anyVisible {
                        let values: ValueRows
                        let token = t0 + (s - s0)
                        if storage.key == .f16 {
                            transposeRun(UnsafeRawPointer(block.key(s)) + 2 * g * kl, rowBytes: block.keyRowBytes, floats: false,
                                         count: m, wide: wideScores, into: kt)
                        } else {
                            widen(keys: true, block, slot: s, count: m, token: token, kvHead: g, into: keyRows)
                            transposeRun(UnsafeRawPointer(keyRows), rowBytes: 4 * kl, floats: true, count: m, wide: wideScores, into: kt)
                        }
                        if storage.value == .f16 {
                            values = ValueRows(base: UnsafeRawPointer(block.value(s)) + 2 * g * vl, rowBytes: block.valueRowBytes, floats: false)
                        } else {
                            widen(keys: false, block, slot: s, count: m, token: token, kvHead: g, into: valueRows)
                            values = ValueRows(base: UnsafeRawPointer(valueRows), rowBytes: 4 * vl, floats: true)
                        }
                        // Two queries a pass where the loops take them: each key (and, below, each
                        // value row) is loaded once for both.
                        var t = 0
                        while t < count {
                            guard visible[t] > 0 else { t += 1; continue }
                            let two = pairScores && t + 1 < count && visible[t + 1] > 0
                            self.scores(wide: wideScores, qs(t) + g * group * kl, group: group, kt, keys: m,
                                        into: sc(t) + g * group * run, queries: two ? 2 : 1, queryStride: perQuery)
                            t += two ? 2 : 1
                        }
                        for t in 0..<count where visible[t] > 0 {
                            let c = Int(visible[t]), r = rows(t), scores = sc(t) + g * group * run
                            if c < m {
                                // Some slots are masked: keep the visible keys' scores, in order.
                                for h in 0..<group {
                                    for u in 0..<c { scores[h * run + u] = scores[h * run + Int(r[u])] }
                                }
                            }
                            absorbRun(heads: groupHeads, c, scores: sc(t), acc: acc(t), maxes: maxes(t), lanes: lanes(t))
                        }
                        t = 0
                        while t < count {
                            let c = Int(visible[t])
                            guard c > 0 else { t += 1; continue }
                            // Both take every row of the run, so the same rows in the same order.
                            let two = pairValues && c == m && t + 1 < count && visible[t + 1] == m
                            self.accumulate(wide: wideValues, values, rows: rows(t), c, group: group,
                                            weights: sc(t) + g * group * run, into: acc(t) + g * group * vl,
                                            queries: two ? 2 : 1, queryStride: perQuery)
                            t += two ? 2 : 1
                        }
                    }
                    s = runEnd
                }
                t0 += end - s0
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: heads) { totals in
                for t in 0..<count {
                    // Each head's total: its 16 lanes added in order.
                    for h in groupHeads {
                        var total: Float = 0
                        for l in 0..<16 { total += lanes(t)[16 * h + l] }
                        totals[h] = total
                    }
                    finish(query: first + t, acc: acc(t), sums: totals.baseAddress!, only: groupHeads)
                }
            }
        }
    }
}

/// `kt[d * stride + u] = row u's element d` for `m` rows of `n` f16 values `rowBytes` apart,
/// widened; columns up to the next multiple of 8 are zeroed.
@inline(__always)
func transposeHalfRows(_ rows: UnsafeRawPointer, rowBytes: Int, _ m: Int, _ n: Int, into kt: UnsafeMutablePointer<Float>,
                       stride: Int) {
    transposeColumns(m, n, into: kt, stride: stride,
                     eight: { u, d in loadHalf8(rows + u * rowBytes, d) },
                     one: { u, d in Float((rows + u * rowBytes).assumingMemoryBound(to: Float16.self)[d]) })
}

/// `kt[d * stride + u] = rows[u * n + d]` for `m` rows of `n` floats; columns up to the next
/// multiple of 8 are zeroed.
@inline(__always)
func transposeRows(_ rows: UnsafePointer<Float>, _ m: Int, _ n: Int, into kt: UnsafeMutablePointer<Float>, stride: Int) {
    transposeColumns(m, n, into: kt, stride: stride, eight: { u, d in load8(rows + u * n, d) }, one: { u, d in rows[u * n + d] })
}

/// `kt[d * stride + u] = row u's element d` for `m` rows of `n` (`eight(u, d)`: elements
/// `d ..< d + 8` of row u; `one(u, d)`: element d), 8 x 8 at a time on x86-64 while whole
/// squares last; columns up to the next multiple of 8 are zeroed.
@inline(__always)
private func transposeColumns(_ m: Int, _ n: Int, into kt: UnsafeMutablePointer<Float>, stride: Int,
                              eight: (Int, Int) -> SIMD8<Float>, one: (Int, Int) -> Float) {
    var u = 0
    #if arch(x86_64)
    while u + 8 <= m && n % 8 == 0 {
        var d = 0
        while d < n {
            let c = transpose8(eight(u, d), eight(u + 1, d), eight(u + 2, d), eight(u + 3, d), eight(u + 4, d),
                               eight(u + 5, d), eight(u + 6, d), eight(u + 7, d))
            store8(c.0, kt + d * stride, u); store8(c.1, kt + (d + 1) * stride, u)
            store8(c.2, kt + (d + 2) * stride, u); store8(c.3, kt + (d + 3) * stride, u)
            store8(c.4, kt + (d + 4) * stride, u); store8(c.5, kt + (d + 5) * stride, u)
            store8(c.6, kt + (d + 6) * stride, u); store8(c.7, kt + (d + 7) * stride, u)
            d += 8
        }
        u += 8
    }
    #endif
    for r in u..<m {
        for d in 0..<n { kt[d * stride + r] = one(r, d) }
    }
    let padded = (m + 7) / 8 * 8
    for u in m..<padded {
        for d in 0..<n { kt[d * stride + u] = 0 }
    }
}

/// Value rows for the tiled attention's sums: f16 rows in the cache, or f32 rows widened from
/// another type; row `r` at `base + r * rowBytes`.
struct ValueRows {
    let base: UnsafeRawPointer
    let rowBytes: Int
    let floats: Bool
}

/// `out[h * stride + u] = scale · Σ_d q[h][d] · kt[d][u]` for the `group` query heads
/// (`[group][n]`) and keys `u < keys` of a transposed tile (`kt`, rows `run` apart, columns
/// padded to 8): eight keys per vector, each sum taken over `d` in order.
/// With `queries: 2` (groups of up to 3 heads), a second query's heads and scores sit
/// `queryStride` floats after the first's: each key vector is loaded once for both, and twice
/// the independent sums keep the multiply-add units busy (`WideTiles.scores` does the same).
@inline(__always)
func tileScores(_ q: UnsafePointer<Float>, group: Int, _ kt: UnsafePointer<Float>, _ n: Int, keys: Int, scale: Float,
                into out: UnsafeMutablePointer<Float>, stride: Int, queries: Int = 1, queryStride: Int = 0) {
    precondition(queries == 1 || group <= 3, "two queries a pass for up to 3 heads")
    switch (group, queries) {
    case (1, 1): tileScores(C1.self, C1.self, q, kt, n, keys, scale, out, stride, 0)
    case (2, 1): tileScores(C2.self, C1.self, q, kt, n, keys, scale, out, stride, 0)
    case (3, 1): tileScores(C3.self, C1.self, q, kt, n, keys, scale, out, stride, 0)
    case (4, 1): tileScores(C4.self, C1.self, q, kt, n, keys, scale, out, stride, 0)
    case (1, _): tileScores(C1.self, C2.self, q, kt, n, keys, scale, out, stride, queryStride)
    case (2, _): tileScores(C2.self, C2.self, q, kt, n, keys, scale, out, stride, queryStride)
    case (3, _): tileScores(C3.self, C2.self, q, kt, n, keys, scale, out, stride, queryStride)
    default:
        for h in 0..<group { tileScores(C1.self, C1.self, q + h * n, kt, n, keys, scale, out + h * stride, stride, 0) }
    }
}

/// `tileScores` for `G.value` (1...4) heads of `P.value` (1 or 2) queries, 16 keys (two
/// vectors) per pass while they last.
private func tileScores<G: Count, P: Count>(_: G.Type, _: P.Type, _ q: UnsafePointer<Float>, _ kt: UnsafePointer<Float>,
                                            _ n: Int, _ keys: Int, _ scale: Float, _ out: UnsafeMutablePointer<Float>,
                                            _ stride: Int, _ next: Int) {
    let group = G.value, pair = P.value == 2, run = FastAttentionJob.run
    let vs = SIMD8<Float>(repeating: scale)
    let q1 = q + n, q2 = q1 + n, q3 = q2 + n
    let p = q + next, p1 = p + n, p2 = p1 + n
    var u = 0
    while u < keys {
        let two = u + 8 < keys
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
        // The second query's heads over the same keys (pairs have at most three heads).
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>()
        var e0 = SIMD8<Float>(), e1 = SIMD8<Float>(), e2 = SIMD8<Float>()
        // Pointers stepped rather than indices computed: checked index arithmetic was a third
        // of this loop's instructions.
        var column = kt + u
        if two {
            for d in 0..<n {
                let k0 = load8(column, 0), k1 = load8(column, 8)
                var w = SIMD8<Float>(repeating: q[d])
                a0.addProduct(w, k0); b0.addProduct(w, k1)
                if group > 1 { w = SIMD8(repeating: q1[d]); a1.addProduct(w, k0); b1.addProduct(w, k1) }
                if group > 2 { w = SIMD8(repeating: q2[d]); a2.addProduct(w, k0); b2.addProduct(w, k1) }
                if group > 3 { w = SIMD8(repeating: q3[d]); a3.addProduct(w, k0); b3.addProduct(w, k1) }
                if pair {
                    w = SIMD8(repeating: p[d]); c0.addProduct(w, k0); e0.addProduct(w, k1)
                    if group > 1 { w = SIMD8(repeating: p1[d]); c1.addProduct(w, k0); e1.addProduct(w, k1) }
                    if group > 2 { w = SIMD8(repeating: p2[d]); c2.addProduct(w, k0); e2.addProduct(w, k1) }
                }
                column += run
            }
        } else {
            for d in 0..<n {
                let k0 = load8(column, 0)
                a0.addProduct(SIMD8(repeating: q[d]), k0)
                if group > 1 { a1.addProduct(SIMD8(repeating: q1[d]), k0) }
                if group > 2 { a2.addProduct(SIMD8(repeating: q2[d]), k0) }
                if group > 3 { a3.addProduct(SIMD8(repeating: q3[d]), k0) }
                if pair {
                    c0.addProduct(SIMD8(repeating: p[d]), k0)
                    if group > 1 { c1.addProduct(SIMD8(repeating: p1[d]), k0) }
                    if group > 2 { c2.addProduct(SIMD8(repeating: p2[d]), k0) }
                }
                column += run
            }
        }
        @inline(__always) func put(_ x: SIMD8<Float>, _ y: SIMD8<Float>, _ o: UnsafeMutablePointer<Float>) {
            store8(x * vs, o, u)
            if two { store8(y * vs, o, u + 8) }
        }
        put(a0, b0, out)
        if group > 1 { put(a1, b1, out + stride) }
        if group > 2 { put(a2, b2, out + 2 * stride) }
        if group > 3 { put(a3, b3, out + 3 * stride) }
        if pair {
            put(c0, e0, out + next)
            if group > 1 { put(c1, e1, out + next + stride) }
            if group > 2 { put(c2, e2, out + next + 2 * stride) }
        }
        u += two ? 16 : 8
    }
}

/// Online softmax over one run of `c` scores per head (`scores[h * run + u]`, replaced by their
/// weights): a larger maximum rescales the accumulated values and total so far. Shared by the
/// f16 and q4 attention kernels.
@inline(__always)
func absorbScores(heads: Range<Int>, _ c: Int, run: Int, valueLength vl: Int, scores sc: UnsafeMutablePointer<Float>,
                  acc: UnsafeMutablePointer<Float>, maxes: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
    for h in heads {
        let m = largest(sc + h * run, c)
        if m > maxes[h] {
            if maxes[h] > -.infinity {
                let f = expf(maxes[h] - m)
                scale(acc + h * vl, f, vl)
                sums[h] *= f
            }
            maxes[h] = m
        }
        sums[h] += expShifted(sc + h * run, c, minus: maxes[h])
    }
}

/// The largest of `c` values, eight lanes at a time (a scalar running maximum is a chain of
/// dependent compares, a third of a run's softmax step). The order of comparisons cannot change
/// the result: scores are finite or -inf, and of two equal zeros either gives the same weights.
@inline(__always)
func largest(_ x: UnsafePointer<Float>, _ c: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: -.infinity)
    var u = 0
    while u + 8 <= c {
        let v = load8(x, u)
        lanes = lanes.replacing(with: v, where: v .> lanes)
        u += 8
    }
    var m = -Float.infinity
    for l in 0..<8 where lanes[l] > m { m = lanes[l] }
    while u < c {
        if x[u] > m { m = x[u] }
        u += 1
    }
    return m
}

/// The largest lane, by halving (a scalar pass over the lanes was a chain of seven dependent
/// compares per head and run). Lanes are finite or -inf, so the order cannot change it.
@inline(__always)
func largestLane(_ v: SIMD8<Float>) -> Float {
    #if arch(x86_64)
    let a = _mm_max_ps(v.lowHalf, v.highHalf)
    let b = _mm_max_ps(a, SIMD4(a[2], a[3], a[2], a[3]))
    return b[0] > b[1] ? b[0] : b[1]
    #else
    return v.max()
    #endif
}

/// The larger of each pair of lanes (one `vmaxps` on x86-64; the standard `pointwiseMax` is a
/// generic call per lane there).
@inline(__always)
func larger(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    #if arch(x86_64)
    _mm256_max_ps(a, b)
    #else
    a.replacing(with: b, where: b .> a)
    #endif
}

/// The exponential step of the tiled softmax over one run of 32 scores: `s[u] = e^(s[u] -
/// shift)`, and `lanes[l] += e(l) + e(l + 16)` for the 16 lanes (`WideTiles.exponentials` does
/// the same operations over 512-bit registers).
@inline(__always)
func runExponentials(_ s: UnsafeMutablePointer<Float>, shift: Float, lanes: UnsafeMutablePointer<Float>) {
    let m = SIMD8<Float>(repeating: shift)
    let e0 = exp8(load8(s, 0) - m), e1 = exp8(load8(s, 8) - m), e2 = exp8(load8(s, 16) - m), e3 = exp8(load8(s, 24) - m)
    store8(e0, s, 0); store8(e1, s, 8); store8(e2, s, 16); store8(e3, s, 24)
    store8(load8(lanes, 0) + e0 + e2, lanes, 0)
    store8(load8(lanes, 8) + e1 + e3, lanes, 8)
}
