import CPrefetch
import Foundation
import KVCache
import TensorFormats

/// Attention over a `q4` cache (keys and values both `q4`), organised as `FastAttentionJob`:
/// one chunk is one query token and one slice of the stored keys for every head, so each
/// token's 4-bit rows are read once and each KV head's row serves all the query heads sharing
/// it; a decoded token's slices are merged as flash decoding does.
///
/// Queries go through the keys' balancing and rotation and then to 8 bits per 32-element
/// block, so a score is an integer dot product against the codes (`Q4Rows.scoreRows`); a
/// decoded token's query is prepared once, not once per slice. Values are accumulated in the
/// rotated domain and the output rotated back once per head. The stored rows were centered:
/// a layer's one key offset shifts all of a query's scores alike (softmax ignores it), keys
/// centered span by span get each span's shift added back (`KeyCentring.correction`), and the
/// value offset is added to the normalized output, after it is rotated back.
struct Q4AttentionJob: AttentionCallJob {
    let call: AttentionCall
    /// Per (token, head, slice): maximum, sum, then `valueLength` weighted values.
    let partials: UnsafeMutablePointer<Float>
    let slices: Int
    /// The one query of a decoded token, already `prepare`d for every slice (nil: each chunk
    /// prepares its own token's query in its scratch).
    var prepared: UnsafePointer<Float>?

    static let run = 32

    /// Floats of one token's prepared query: per head its balanced, rotated floats, its 8-bit
    /// values (as floats), their block scales and its key-centring coefficients.
    static func queryFloats(_ k: AttentionKernel) -> Int {
        k.heads * (2 * k.keyLength + k.keyLength / 4 + k.keyLength / 32)
    }

    static func scratchFloats(_ k: AttentionKernel) -> Int {
        // a prepared query, scores, accumulators, max/sum, row indices, per-span corrections.
        queryFloats(k) + k.heads * (run + k.valueLength + 3) + run
    }

    /// Puts query token `i` into `dst` (`queryFloats`) as the keys are stored: multiplied by
    /// the key scales, rotated, then 8-bit blocks with their scales.
    func prepare(query i: Int, into dst: UnsafeMutablePointer<Float>) {
        let heads = kernel.heads, kl = kernel.keyLength, group = heads / kernel.kvHeads
        let (qf, qx, qScales, coefficients) = Self.parts(dst, kernel)
        qf.update(from: q + i * heads * kl, count: heads * kl)
        if let centring = cache.keyCentrings[layer], let mean = cache.rowOffsets[layer]?.keys {
            mean.withUnsafeBufferPointer { m in
                for h in 0..<heads {
                    centring.coefficients(query: q + (i * heads + h) * kl, mean: m.baseAddress! + (h / group) * kl,
                                          into: coefficients + h * kl)
                }
            }
        }
        let keyScales = cache.rowOffsets[layer]?.keyScales ?? []
        for h in 0..<heads {
            if !keyScales.isEmpty { for j in 0..<kl { qf[h * kl + j] *= keyScales[(h / group) * kl + j] } }
            if cache.configuration.storage.rotatesKeys { hadamardRotate(qf + h * kl, count: kl) }
            Q4Rows.quantizeQuery(qf + h * kl, count: kl, into: qx + h * kl, scales: qScales + h * (kl / 32))
        }
    }

    /// A prepared query's floats `[heads][kl]`, 8-bit values `[heads][kl]`, block scales
    /// `[heads][kl/32]` and key-centring coefficients `[heads][kl]`.
    private static func parts(_ p: UnsafeMutablePointer<Float>, _ k: AttentionKernel)
        -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int8>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        let n = k.heads * k.keyLength
        return (p, UnsafeMutableRawPointer(p + n).bindMemory(to: Int8.self, capacity: n), p + n + n / 4, p + n + n / 4 + n / 32)
    }

    func run(chunk: Int, worker: Int) {
        let heads = kernel.heads, kvHeads = kernel.kvHeads, group = heads / kvHeads
        let kl = kernel.keyLength, vl = kernel.valueLength
        let layout = Q4Layout.current, keyRows = layout.keys, valueRows = layout.values
        let kHead = keyRows.rowBytes(kl), vHead = valueRows.rowBytes(vl)
        let run = Self.run, qBlocks = kl / 32
        let slice = chunk % slices, i = chunk / slices
        let lo = stored.lowerBound + stored.count * slice / slices
        let hi = stored.lowerBound + stored.count * (slice + 1) / slices

        let buf = scratch.buffer(worker)
        let query = prepared.map { UnsafeMutablePointer(mutating: $0) } ?? buf
        if prepared == nil { prepare(query: i, into: buf) }
        let (qf, qx, qScales, coefficients) = Self.parts(query, kernel)
        let sc = buf + Self.queryFloats(kernel)                       // [heads][run]
        let acc = sc + heads * run                                    // [heads][vl]
        let maxes = acc + heads * vl, sums = maxes + heads
        let rows = UnsafeMutableRawPointer(sums + heads).bindMemory(to: Int32.self, capacity: run)
        let corrections = UnsafeMutableRawPointer(rows + run).bindMemory(to: Float.self, capacity: heads)
        let centring = cache.keyCentrings[layer]
        var correctedSpan = -1
        maxes.initialize(repeating: -.infinity, count: heads)
        sums.initialize(repeating: 0, count: heads)
        acc.initialize(repeating: 0, count: heads * vl)
        let (qb, qslot) = cache.slot(layer: layer, token: base + i)
        let qpos = qb.positions[qslot]
        let bt = cache.configuration.blockTokens
        @inline(__always) func visible(_ kp: Int32) -> Bool { kp <= qpos && (window == nil || qpos - kp < Int32(window!)) }

        let exact = cache.exactRows, exactTokens = exact?.tokens[layer] ?? 0
        var t = lo
        while t < hi {
            let (block, s0) = cache.slot(layer: layer, token: t)
            let end = s0 + min(bt - s0, hi - t)
            // The next block's rows into L2 beside this block's (as `FastAttentionJob`).
            let next = t + (end - s0) < hi ? cache.slot(layer: layer, token: t + (end - s0)).0 : nil
            var s = s0
            while s < end {
                let runEnd = min(end, s + run)
                var c = 0
                while s < runEnd {
                    if visible(block.positions[s]) {
                        rows[c] = Int32(s)
                        c += 1
                    }
                    s += 1
                }
                if c == 0 { continue }
                if let next {
                    for u in 0..<c {
                        rdic_prefetch_later(next.key(Int(rows[u])), next.keyRowBytes)
                        rdic_prefetch_later(next.value(Int(rows[u])), next.valueRowBytes)
                    }
                }
                // The first tokens (attention sinks) lead a run when they are in it: scored and
                // accumulated from their exact rows, before the 4-bit rows after them.
                let blockStart = t - s0
                var e = 0
                while e < c && blockStart + Int(rows[e]) < exactTokens { e += 1 }
                for g in 0..<kvHeads {
                    keyRows.scoreRows(block.keys + g * kHead, rowStride: block.keyRowBytes, slots: rows, c, count: kl,
                                      heads: group, x: qx + g * group * kl, scales: qScales + g * group * qBlocks,
                                      scale: kernel.scoreScale, into: sc + g * group * run, stride: run)
                }
                if let exact {
                    for u in 0..<e { exactScores(exact.key(layer: layer, token: blockStart + Int(rows[u])), query: qf, into: sc + u) }
                }
                if let centring {
                    for u in 0..<c {
                        let span = centring.spanIndex(block.positions[Int(rows[u])])
                        if span != correctedSpan {
                            let centre = centring.centre(spanIndex: span)
                            for h in 0..<heads {
                                corrections[h] = kernel.scoreScale * centring.correction(coefficients: coefficients + h * kl, centre: centre)
                            }
                            correctedSpan = span
                        }
                        for h in 0..<heads { sc[h * run + u] += corrections[h] }
                    }
                }
                absorbScores(heads: 0..<heads, c, run: run, valueLength: vl, scores: sc, acc: acc, maxes: maxes, sums: sums)
                if let exact {
                    for u in 0..<e { accumulateExact(exact.value(layer: layer, token: blockStart + Int(rows[u])), weights: sc + u, into: acc) }
                }
                for g in 0..<kvHeads {
                    valueRows.accumulateRows(block.values + g * vHead, rowStride: block.valueRowBytes, slots: rows + e, c - e,
                                             count: vl, heads: group, weights: sc + g * group * run + e, stride: run,
                                             into: acc + g * group * vl)
                }
            }
            t += end - s0
        }

        for h in 0..<heads {
            if slices == 1 {
                let o = out + (i * heads + h) * vl
                let inv: Float = sums[h] == 0 ? 0 : 1 / sums[h]
                for j in 0..<vl { o[j] = acc[h * vl + j] * inv }
                finish(o, head: h)
            } else {
                let p = partials + ((i * heads + h) * slices + slice) * (vl + 2)
                p[0] = maxes[h]
                p[1] = sums[h]
                (p + 2).update(from: acc + h * vl, count: vl)
            }
        }
    }

    /// `out[h * run]` = every head's score of one exactly kept (f16) key row.
    private func exactScores(_ key: UnsafePointer<Float16>, query qf: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let kl = kernel.keyLength, group = kernel.heads / kernel.kvHeads
        for h in 0..<kernel.heads {
            let k = key + (h / group) * kl, qh = qf + h * kl
            var dot: Float = 0
            for j in 0..<kl { dot += qh[j] * Float(k[j]) }
            out[h * Self.run] = kernel.scoreScale * dot
        }
    }

    /// `acc[h] += weights[h * run] · value` for one exactly kept (f16) value row.
    private func accumulateExact(_ value: UnsafePointer<Float16>, weights: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>) {
        let vl = kernel.valueLength, group = kernel.heads / kernel.kvHeads
        withUnsafeTemporaryAllocation(of: Float.self, capacity: vl) { row in
            let r = row.baseAddress!
            for g in 0..<kernel.kvHeads {
                for j in 0..<vl { r[j] = Float(value[g * vl + j]) }
                for h in (g * group)..<((g + 1) * group) { axpy(weights[h * Self.run], r, acc + h * vl, vl) }
            }
        }
    }

    /// Undoes the value rotation and centering on one head's normalized output.
    private func finish(_ o: UnsafeMutablePointer<Float>, head h: Int) {
        let vl = kernel.valueLength, g = h / (kernel.heads / kernel.kvHeads)
        if cache.configuration.storage.rotatesValues { hadamardRotate(o, count: vl) }
        if let offsets = cache.rowOffsets[layer] {
            offsets.values.withUnsafeBufferPointer { nu in for j in 0..<vl { o[j] += nu[g * vl + j] } }
        }
    }

    /// Combines the slices' partial softmaxes (when there is more than one), then `finish`es.
    func merge(tokens n: Int) {
        guard slices > 1 else { return }
        mergePartialSoftmaxes(partials, into: out, items: n * kernel.heads, slices: slices, valueLength: kernel.valueLength)
        for item in 0..<(n * kernel.heads) { finish(out + item * kernel.valueLength, head: item % kernel.heads) }
    }
}
