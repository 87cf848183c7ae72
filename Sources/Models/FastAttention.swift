import CPrefetch
import Foundation
import KVCache
import TensorFormats

/// The `fast` numerics' attention, in the manner of llama.cpp's CPU flash attention (online
/// softmax, one division at the end; over f16 keys the query rounded to f16), organised for
/// grouped-query attention.
///
/// A decoded token is one chunk per slice of the stored keys, for every head: each token's
/// keys and values are read from memory once, in order, and each KV head's row is widened
/// once (f16 in registers; f32, Q8_0 and Q4_0 a run at a time into scratch) for the query heads
/// sharing it. Its keys are split into slices, each giving a partial softmax (its maximum, its
/// sum and its weighted values) that `merge` combines as flash decoding does. A batch goes a
/// tile of queries per chunk (`runTile`), over the same rows and q4's. Running sums are kept
/// in f32 (llama.cpp keeps the values' in f16; the difference is below the reference's own
/// f16/f32 noise).
struct FastAttentionJob: AttentionCallJob {
    let call: AttentionCall
    /// Per (token, head, slice): maximum, sum, then `valueLength` weighted values.
    let partials: UnsafeMutablePointer<Float>
    let slices: Int
    /// Queries in the call. A prefill batch (more than one) goes through `runTile`, a tile of
    /// queries per chunk; a decoded token streams keys and values from memory, where reading
    /// each row whole and in order (as the prefetcher expects) is faster.
    let tokens: Int
    /// Queries per chunk of a batch (`queryTile(tokens:depth:kvHeads:threads:)`).
    let queryTile: Int
    /// Queries of a prefill batch even when there is one (a batch's only output row in the
    /// last layer): tiled, unsliced, so its floats are those it gets beside the others.
    var tiled = false
    var batch: Bool { tokens > 1 || tiled }

    /// Visible keys per online-softmax step.
    static let run = 32

    /// Key slices for one decoded token: about eight chunks per thread, slices of at least 128
    /// keys. A batch is not sliced, so a token's result does not depend on which batch (of more
    /// than one) it came in.
    static func slices(tokens n: Int, stored: Int, threads: Int) -> Int {
        guard n == 1 else { return 1 }
        return max(1, min(8 * threads, stored / 128))
    }

    /// Floats of per-thread scratch for `kernel`: one query's state, or a tile's.
    static func scratchFloats(_ k: AttentionKernel) -> Int {
        max(queryFloats(k), tileScratchFloats(k))
    }

    /// One query's state: its heads rounded to f16, a run's scores, running sums, maximums and
    /// totals, the run's visible rows, then the run's key and value rows widened to floats
    /// (caches that are not f16).
    static func queryFloats(_ k: AttentionKernel) -> Int {
        k.heads * (k.keyLength + run + k.valueLength + 3) + run + run * k.kvHeads * (k.keyLength + k.valueLength)
    }

    /// Pool chunks for the call: a decoded token's key slices, or a batch's query tiles times
    /// the KV heads (`runTile`).
    var chunks: Int {
        batch ? (tokens + queryTile - 1) / queryTile * kernel.kvHeads : slices
    }

    /// Floats of `partials` for `n` tokens cut into `slices`.
    static func partialFloats(_ k: AttentionKernel, tokens n: Int, slices: Int) -> Int {
        slices > 1 ? n * k.heads * slices * (k.valueLength + 2) : 0
    }

    func run(chunk: Int, worker: Int) {
        if batch {
            runTile(chunk / kernel.kvHeads, kvHead: chunk % kernel.kvHeads, worker: worker)
            return
        }
        let heads = kernel.heads, kvHeads = kernel.kvHeads, group = heads / kvHeads
        let kl = kernel.keyLength, vl = kernel.valueLength, scoreScale = kernel.scoreScale
        let run = Self.run
        let slice = chunk % slices, i = chunk / slices
        let lo = stored.lowerBound + stored.count * slice / slices
        let hi = stored.lowerBound + stored.count * (slice + 1) / slices

        let buf = scratch.buffer(worker)
        let qs = buf                                   // [heads][kl]
        let sc = qs + heads * kl                       // [heads][run]
        let acc = sc + heads * run                     // [heads][vl]
        let maxes = acc + heads * vl, sums = maxes + heads, runMax = sums + heads
        let rows = UnsafeMutableRawPointer(runMax + heads).bindMemory(to: Int32.self, capacity: run)
        // Rows of other types, widened a run at a time: [run][kvHeads][kl], [run][kvHeads][vl].
        let storage = cache.configuration.storage
        let keyType = storage.key == .f16 ? nil : storage.key, valueType = storage.value == .f16 ? nil : storage.value
        let keyRows = UnsafeMutableRawPointer(rows + run).bindMemory(to: Float.self, capacity: run * kvHeads * (kl + vl))
        let valueRows = keyRows + run * kvHeads * kl
        start(query: i, qs: qs, acc: acc, maxes: maxes, sums: sums)
        let (qb, qslot) = cache.slot(layer: layer, token: base + i)
        let qpos = qb.positions[qslot]
        let bt = cache.configuration.blockTokens

        var t = lo
        while t < hi {
            let (block, s0) = cache.slot(layer: layer, token: t)
            let end = s0 + min(bt - s0, hi - t)
            // The next block's rows are fetched into L2 beside this block's (blocks are separate
            // allocations: the hardware prefetcher cannot run ahead across them).
            let next = t + (end - s0) < hi ? cache.slot(layer: layer, token: t + (end - s0)).0 : nil
            var s = s0
            while s < end {
                // A run: up to `run` slots, their visible keys listed once for every head.
                let runEnd = min(end, s + run)
                var c = 0
                while s < runEnd {
                    let kp = block.positions[s]
                    if kp <= qpos && (window == nil || qpos - kp < Int32(window!)) {
                        rows[c] = Int32(s)
                        c += 1
                    }
                    s += 1
                }
                if c == 0 { continue }
                if let keyType {
                    for u in 0..<c {
                        try! dequantize(keyType.ggmlType, from: block.key(Int(rows[u])), count: kvHeads * kl,
                                        into: keyRows + u * kvHeads * kl)
                    }
                }
                for u in 0..<c {
                    if let next { rdic_prefetch_later(next.key(Int(rows[u])), next.keyRowBytes) }
                    let key = keyType == nil ? block.key(Int(rows[u])) : UnsafeMutableRawPointer(keyRows + u * kvHeads * kl)
                    let headBytes = keyType == nil ? 2 * kl : 4 * kl
                    for g in 0..<kvHeads {
                        groupScores(qs + g * group * kl, group: group, key: key + g * headBytes, kl, scale: scoreScale,
                                    into: sc + g * group * run + u, stride: run, floats: keyType != nil)
                    }
                }
                absorb(heads: 0..<heads, c, scores: sc, acc: acc, maxes: maxes, sums: sums)
                if let valueType {
                    for u in 0..<c {
                        if let next { rdic_prefetch_later(next.value(Int(rows[u])), next.valueRowBytes) }
                        try! dequantize(valueType.ggmlType, from: block.value(Int(rows[u])), count: kvHeads * vl,
                                        into: valueRows + u * kvHeads * vl)
                    }
                    Self.identityRows.withUnsafeBufferPointer { identity in
                        for g in 0..<kvHeads {
                            groupAccumulate(ValueRows(base: UnsafeRawPointer(valueRows + g * vl), rowBytes: 4 * kvHeads * vl, floats: true),
                                            rows: identity.baseAddress!, c, vl, weights: sc + g * group * run, stride: run, group: group,
                                            into: acc + g * group * vl)
                        }
                    }
                    continue
                }
                for u in 0..<c {
                    if let next { rdic_prefetch_later(next.value(Int(rows[u])), next.valueRowBytes) }
                    let v = block.value(Int(rows[u]))
                    for g in 0..<kvHeads {
                        groupAccumulate(v + 2 * g * vl, vl, weights: sc + g * group * run + u, stride: run,
                                        group: group, into: acc + g * group * vl)
                    }
                }
            }
            t += end - s0
        }

        if slices == 1 {
            finish(query: i, acc: acc, sums: sums)
            return
        }
        for h in 0..<heads {
            let p = partials + ((i * heads + h) * slices + slice) * (vl + 2)
            p[0] = maxes[h]
            p[1] = sums[h]
            (p + 2).update(from: acc + h * vl, count: vl)
        }
    }

    /// Rows `0, 1, 2, ...` of a run's widened values.
    static let identityRows: [Int32] = (0..<Int32(run)).map { $0 }

    /// Combines the slices' partial softmaxes into the output (when there is more than one),
    /// rotated back (and, q4, uncentered) where the stored values were.
    func merge(tokens n: Int) {
        guard slices > 1 else { return }
        mergePartialSoftmaxes(partials, into: out, items: n * kernel.heads, slices: slices, valueLength: kernel.valueLength)
        let storage = cache.configuration.storage
        guard storage.rotatesValues || storage.value.centers else { return }
        for item in 0..<(n * kernel.heads) { restore(out + item * kernel.valueLength, head: item % kernel.heads) }
    }
}

/// Combines per-slice partial softmaxes (per item and slice: maximum, sum, `valueLength`
/// weighted values) into each item's normalized output, as flash decoding does.
func mergePartialSoftmaxes(_ partials: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, items: Int, slices: Int,
                           valueLength vl: Int) {
        for item in 0..<items {
            let first = partials + item * slices * (vl + 2)
            var m = -Float.infinity
            for s in 0..<slices { m = max(m, first[s * (vl + 2)]) }
            let o = out + item * vl
            o.initialize(repeating: 0, count: vl)
            var total: Float = 0
            if m > -.infinity {
                for s in 0..<slices {
                    let p = first + s * (vl + 2)
                    guard p[1] > 0 else { continue }
                    let w = expf(p[0] - m)
                    total += w * p[1]
                    axpy(w, p + 2, o, vl)
                }
            }
            if total > 0 { scale(o, 1 / total, vl) }
        }
}

/// `out[h * stride] = dot(q[h], key) * scale` for the `group` queries (`[group][n]`) of one f16
/// key row (f32 with `floats`): the row is widened once, 8 values at a time, for all of them.
@inline(__always)
func groupScores(_ q: UnsafePointer<Float>, group: Int, key: UnsafeRawPointer, _ n: Int, scale: Float,
                 into out: UnsafeMutablePointer<Float>, stride: Int, floats: Bool = false) {
    if floats {
        switch group {
        case 1: out[0] = dot(q, key.assumingMemoryBound(to: Float.self), n) * scale
        case 2: groupScores(C2.self, FloatRow.self, q, key, n, scale, out, stride)
        case 3: groupScores(C3.self, FloatRow.self, q, key, n, scale, out, stride)
        case 4: groupScores(C4.self, FloatRow.self, q, key, n, scale, out, stride)
        default: for h in 0..<group { out[h * stride] = dot(q + h * n, key.assumingMemoryBound(to: Float.self), n) * scale }
        }
        return
    }
    switch group {
    case 1: out[0] = dotHalf(q, key, n) * scale
    case 2: groupScores(C2.self, HalfRow.self, q, key, n, scale, out, stride)
    case 3: groupScores(C3.self, HalfRow.self, q, key, n, scale, out, stride)
    case 4: groupScores(C4.self, HalfRow.self, q, key, n, scale, out, stride)
    default: for h in 0..<group { out[h * stride] = dotHalf(q + h * n, key, n) * scale }
    }
}

/// `groupScores` for `G.value` (2...4) heads over a key row of format `F`.
private func groupScores<G: Count, F: RowFormat>(_: G.Type, _: F.Type, _ q: UnsafePointer<Float>, _ key: UnsafeRawPointer,
                                                 _ n: Int, _ scale: Float, _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
    let group = G.value
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var j = 0
    while j < n {
        let k = F.load8(key, j)
        a0.addProduct(load8(q, j), k)
        a1.addProduct(load8(q + n, j), k)
        if group > 2 { a2.addProduct(load8(q + 2 * n, j), k) }
        if group > 3 { a3.addProduct(load8(q + 3 * n, j), k) }
        j += 8
    }
    out[0] = a0.sum() * scale
    out[stride] = a1.sum() * scale
    if group > 2 { out[2 * stride] = a2.sum() * scale }
    if group > 3 { out[3 * stride] = a3.sum() * scale }
}

/// `acc[h] += weights[h * stride] * value` for the `group` accumulators (`[group][n]`) and one
/// f16 value row, widened once per 8 values.
@inline(__always)
func groupAccumulate(_ value: UnsafeRawPointer, _ n: Int, weights: UnsafePointer<Float>, stride: Int, group: Int,
                     into acc: UnsafeMutablePointer<Float>) {
    switch group {
    case 1: axpyHalf(weights[0], value, acc, n)
    case 2: groupAccumulate(C2.self, value, n, weights, stride, acc)
    case 3: groupAccumulate(C3.self, value, n, weights, stride, acc)
    case 4: groupAccumulate(C4.self, value, n, weights, stride, acc)
    default: for h in 0..<group { axpyHalf(weights[h * stride], value, acc + h * n, n) }
    }
}

/// `groupAccumulate` for `G.value` (2...4) heads.
private func groupAccumulate<G: Count>(_: G.Type, _ value: UnsafeRawPointer, _ n: Int, _ weights: UnsafePointer<Float>,
                                       _ stride: Int, _ acc: UnsafeMutablePointer<Float>) {
    let group = G.value
    let w = (SIMD8<Float>(repeating: weights[0]), SIMD8<Float>(repeating: weights[stride]),
             SIMD8<Float>(repeating: group > 2 ? weights[2 * stride] : 0), SIMD8<Float>(repeating: group > 3 ? weights[3 * stride] : 0))
    @inline(__always) func update(_ h: Int, _ weight: SIMD8<Float>, _ v: SIMD8<Float>, _ j: Int) {
        let p = acc + h &* n
        var a = load8(p, j)
        a.addProduct(weight, v)
        store8(a, p, j)
    }
    var j = 0
    while j < n {
        let v = loadHalf8(value, j)
        update(0, w.0, v, j)
        update(1, w.1, v, j)
        if group > 2 { update(2, w.2, v, j) }
        if group > 3 { update(3, w.3, v, j) }
        j &+= 8
    }
}

/// `acc[h] += weights[h * stride + u] * value(rows[u])` over the `c` listed rows of `values`
/// (f16 or f32), 16 columns at a time: the `group` x 16 sums stay in registers across the rows
/// instead of going through memory once per row. Each sum takes the rows in order, as one
/// `groupAccumulate` per row would, and is a multiply-add per row in both formats (as the
/// wide loops', `WideTiles.accumulate`). With `queries: 2` (groups of up to three heads), a
/// second query's weights and sums sit `queryStride` floats after the first's: each value row
/// is loaded and widened once for both, and twice the independent sums hide the multiply-adds'
/// latency; each query gets the bits it gets alone.
@inline(__always)
func groupAccumulate(_ values: ValueRows, rows: UnsafePointer<Int32>, _ c: Int, _ n: Int,
                     weights: UnsafePointer<Float>, stride: Int, group: Int, into acc: UnsafeMutablePointer<Float>,
                     queries: Int = 1, queryStride: Int = 0) {
    precondition(queries == 1 || group <= 3, "two queries a pass for up to 3 heads")
    guard n % 16 == 0 else {
        for q in 0..<queries {
            let weights = weights + q * queryStride, acc = acc + q * queryStride
            for u in 0..<c {
                let row = values.base + Int(rows[u]) * values.rowBytes
                for h in 0..<group {
                    let w = weights[h * stride + u], a = acc + h * n
                    for j in 0..<n {
                        let v = values.floats ? row.load(fromByteOffset: 4 * j, as: Float.self)
                            : Float(row.loadUnaligned(fromByteOffset: 2 * j, as: Float16.self))
                        a[j] = a[j].addingProduct(w, v)
                    }
                }
            }
        }
        return
    }
    if queries == 2 {
        switch (group, values.floats) {
        case (1, true): groupAccumulate(C1.self, C2.self, FloatRow.self, values, rows, c, n, weights, stride, acc, queryStride)
        case (2, true): groupAccumulate(C2.self, C2.self, FloatRow.self, values, rows, c, n, weights, stride, acc, queryStride)
        case (_, true): groupAccumulate(C3.self, C2.self, FloatRow.self, values, rows, c, n, weights, stride, acc, queryStride)
        case (1, false): groupAccumulate(C1.self, C2.self, HalfRow.self, values, rows, c, n, weights, stride, acc, queryStride)
        case (2, false): groupAccumulate(C2.self, C2.self, HalfRow.self, values, rows, c, n, weights, stride, acc, queryStride)
        case (_, false): groupAccumulate(C3.self, C2.self, HalfRow.self, values, rows, c, n, weights, stride, acc, queryStride)
        }
        return
    }
    // Up to four heads a pass (their sums fill the registers); heads are independent.
    var h = 0
    while h < group {
        let heads = min(4, group - h), w = weights + h * stride, a = acc + h * n
        if values.floats {
            switch heads {
            case 1: groupAccumulate(C1.self, C1.self, FloatRow.self, values, rows, c, n, w, stride, a, 0)
            case 2: groupAccumulate(C2.self, C1.self, FloatRow.self, values, rows, c, n, w, stride, a, 0)
            case 3: groupAccumulate(C3.self, C1.self, FloatRow.self, values, rows, c, n, w, stride, a, 0)
            default: groupAccumulate(C4.self, C1.self, FloatRow.self, values, rows, c, n, w, stride, a, 0)
            }
        } else {
            switch heads {
            case 1: groupAccumulate(C1.self, C1.self, HalfRow.self, values, rows, c, n, w, stride, a, 0)
            case 2: groupAccumulate(C2.self, C1.self, HalfRow.self, values, rows, c, n, w, stride, a, 0)
            case 3: groupAccumulate(C3.self, C1.self, HalfRow.self, values, rows, c, n, w, stride, a, 0)
            default: groupAccumulate(C4.self, C1.self, HalfRow.self, values, rows, c, n, w, stride, a, 0)
            }
        }
        h += heads
    }
}

/// How a value row's elements are read: eight at a time, widened to f32.
private protocol RowFormat { static func load8(_ row: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> }
private enum HalfRow: RowFormat {
    @inline(__always) static func load8(_ row: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> { loadHalf8(row, j) }
}
private enum FloatRow: RowFormat {
    @inline(__always) static func load8(_ row: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        row.loadUnaligned(fromByteOffset: 4 &* j, as: SIMD8<Float>.self)
    }
}

/// `groupAccumulate` for `G.value` (1...4) heads of `P.value` (1 or 2; pairs up to 3 heads)
/// queries over rows of format `F`, the second query's weights and sums `next` floats on.
private func groupAccumulate<G: Count, P: Count, F: RowFormat>(_: G.Type, _: P.Type, _: F.Type, _ values: ValueRows,
                                                               _ rows: UnsafePointer<Int32>, _ c: Int, _ n: Int,
                                                               _ weights: UnsafePointer<Float>, _ stride: Int,
                                                               _ acc: UnsafeMutablePointer<Float>, _ next: Int) {
    let group = G.value, pair = P.value == 2
    let rowBytes = values.rowBytes
    let w1 = weights + stride, w2 = w1 + stride, w3 = w2 + stride
    let x0 = weights + next, x1 = x0 + stride, x2 = x1 + stride
    let acc1 = acc + n, acc2 = acc1 + n, acc3 = acc2 + n
    let bcc = acc + next, bcc1 = bcc + n, bcc2 = bcc1 + n
    var j = 0
    while j < n {
        // s: the first query's sums (head, half of the 16 columns); t: the second's.
        var s00 = load8(acc, j), s01 = load8(acc, j + 8)
        var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s20 = SIMD8<Float>(), s21 = SIMD8<Float>()
        var s30 = SIMD8<Float>(), s31 = SIMD8<Float>()
        var t00 = SIMD8<Float>(), t01 = SIMD8<Float>(), t10 = SIMD8<Float>(), t11 = SIMD8<Float>()
        var t20 = SIMD8<Float>(), t21 = SIMD8<Float>()
        if group > 1 { s10 = load8(acc1, j); s11 = load8(acc1, j + 8) }
        if group > 2 { s20 = load8(acc2, j); s21 = load8(acc2, j + 8) }
        if group > 3 { s30 = load8(acc3, j); s31 = load8(acc3, j + 8) }
        if pair {
            t00 = load8(bcc, j); t01 = load8(bcc, j + 8)
            if group > 1 { t10 = load8(bcc1, j); t11 = load8(bcc1, j + 8) }
            if group > 2 { t20 = load8(bcc2, j); t21 = load8(bcc2, j + 8) }
        }
        // Row addresses and weights by unchecked arithmetic on hoisted pointers: the checked
        // products and sums were a third of this loop's instructions.
        for u in 0..<c {
            let v = values.base + Int(rows[u]) &* rowBytes
            let v0 = F.load8(v, j), v1 = F.load8(v, j &+ 8)
            var w = SIMD8<Float>(repeating: weights[u])
            s00.addProduct(w, v0); s01.addProduct(w, v1)
            if group > 1 { w = SIMD8(repeating: w1[u]); s10.addProduct(w, v0); s11.addProduct(w, v1) }
            if group > 2 { w = SIMD8(repeating: w2[u]); s20.addProduct(w, v0); s21.addProduct(w, v1) }
            if group > 3 { w = SIMD8(repeating: w3[u]); s30.addProduct(w, v0); s31.addProduct(w, v1) }
            if pair {
                w = SIMD8(repeating: x0[u]); t00.addProduct(w, v0); t01.addProduct(w, v1)
                if group > 1 { w = SIMD8(repeating: x1[u]); t10.addProduct(w, v0); t11.addProduct(w, v1) }
                if group > 2 { w = SIMD8(repeating: x2[u]); t20.addProduct(w, v0); t21.addProduct(w, v1) }
            }
        }
        store8(s00, acc, j); store8(s01, acc, j + 8)
        if group > 1 { store8(s10, acc1, j); store8(s11, acc1, j + 8) }
        if group > 2 { store8(s20, acc2, j); store8(s21, acc2, j + 8) }
        if group > 3 { store8(s30, acc3, j); store8(s31, acc3, j + 8) }
        if pair {
            store8(t00, bcc, j); store8(t01, bcc, j + 8)
            if group > 1 { store8(t10, bcc1, j); store8(t11, bcc1, j + 8) }
            if group > 2 { store8(t20, bcc2, j); store8(t21, bcc2, j + 8) }
        }
        j += 16
    }
}
