import Foundation
import KVCache
import TensorFormats

/// Attention over a `q4` cache (keys and values both `q4`), organised as `HalfAttentionJob`:
/// one chunk is one query token and one slice of the stored keys for every head, so each
/// token's 4-bit rows are read once and each KV head's row serves all the query heads sharing
/// it; a decoded token's slices are merged as flash decoding does.
///
/// Queries go through the keys' rotation and then to 8 bits per 32-element block, so a score
/// is an integer dot product (`Q4Rows.dot`). The stored rows were centered: the key offset
/// shifts all of a query's scores alike (softmax ignores it) and the value offset is added to
/// the normalized output, after it is rotated back.
struct Q4AttentionJob: PoolJob {
    let kernel: AttentionKernel
    let cache: SequenceKVCache
    let layer: Int
    let window: Int?
    let q: UnsafePointer<Float>
    let out: UnsafeMutablePointer<Float>
    let scratch: Scratch
    /// Per (token, head, slice): maximum, sum, then `valueLength` weighted values.
    let partials: UnsafeMutablePointer<Float>
    let stored: Range<Int>
    let base: Int
    let slices: Int

    static let run = 32

    static func scratchFloats(_ k: AttentionKernel) -> Int {
        // query floats, query bytes (as floats), block scales, scores, accumulators,
        // max/sum/run max, row indices, one widened value row.
        k.heads * (k.keyLength + k.keyLength / 4 + k.keyLength / 32 + run + k.valueLength + 3) + run + k.valueLength
    }

    func run(chunk: Int, worker: Int) {
        let heads = kernel.heads, kvHeads = kernel.kvHeads, group = heads / kvHeads
        let kl = kernel.keyLength, vl = kernel.valueLength, scoreScale = kernel.scoreScale
        let storage = cache.configuration.storage
        let layout = Q4Layout.current, keyRows = layout.keys, valueRows = layout.values
        let kHead = keyRows.rowBytes(kl), vHead = valueRows.rowBytes(vl)
        let exact = cache.exactRows, exactTokens = exact?.tokens[layer] ?? 0
        let run = Self.run, qBlocks = kl / 32
        let slice = chunk % slices, i = chunk / slices
        let lo = stored.lowerBound + stored.count * slice / slices
        let hi = stored.lowerBound + stored.count * (slice + 1) / slices

        let buf = scratch.buffer(worker)
        let qf = buf                                                  // [heads][kl]
        let qx = UnsafeMutableRawPointer(qf + heads * kl).bindMemory(to: Int8.self, capacity: heads * kl)
        let qScales = qf + heads * kl + heads * kl / 4                // [heads][kl/32]
        let sc = qScales + heads * qBlocks                            // [heads][run]
        let acc = sc + heads * run                                    // [heads][vl]
        let maxes = acc + heads * vl, sums = maxes + heads
        let vrow = sums + 2 * heads
        let rows = UnsafeMutableRawPointer(vrow + vl).bindMemory(to: Int32.self, capacity: run)

        qf.update(from: q + i * heads * kl, count: heads * kl)
        let keyScales = cache.rowOffsets[layer]?.keyScales ?? []
        for h in 0..<heads {
            if !keyScales.isEmpty { for j in 0..<kl { qf[h * kl + j] *= keyScales[(h / group) * kl + j] } }
            if storage.rotatesKeys { hadamardRotate(qf + h * kl, count: kl) }
            Q4Rows.quantizeQuery(qf + h * kl, count: kl, into: qx + h * kl, scales: qScales + h * qBlocks)
            maxes[h] = -.infinity
            sums[h] = 0
        }
        acc.initialize(repeating: 0, count: heads * vl)
        let (qb, qslot) = cache.slot(layer: layer, token: base + i)
        let qpos = qb.positions[qslot]
        let bt = cache.configuration.blockTokens

        var t = lo
        while t < hi {
            let (block, s0) = cache.slot(layer: layer, token: t)
            let end = s0 + min(bt - s0, hi - t)
            var s = s0
            while s < end {
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
                let blockStart = t - s0
                for u in 0..<c {
                    let token = blockStart + Int(rows[u])
                    if token < exactTokens, let exact {
                        let key = exact.key(layer: layer, token: token)
                        for h in 0..<heads {
                            let k = key + (h / group) * kl, qh = qf + h * kl
                            var dot: Float = 0
                            for j in 0..<kl { dot += qh[j] * Float(k[j]) }
                            sc[h * run + u] = scoreScale * dot
                        }
                        continue
                    }
                    let key = block.key(Int(rows[u]))
                    for h in 0..<heads {
                        sc[h * run + u] = scoreScale * keyRows.dot(key + (h / group) * kHead, count: kl, x: qx + h * kl,
                                                                   scales: qScales + h * qBlocks)
                    }
                }
                absorbScores(heads: 0..<heads, c, run: run, valueLength: vl, scores: sc, acc: acc, maxes: maxes, sums: sums)
                for u in 0..<c {
                    let token = blockStart + Int(rows[u])
                    let v = block.value(Int(rows[u]))
                    for g in 0..<kvHeads {
                        if token < exactTokens, let exact {
                            let e = exact.value(layer: layer, token: token) + g * vl
                            for j in 0..<vl { vrow[j] = Float(e[j]) }
                        } else {
                            valueRows.dequantize(v + g * vHead, count: vl, into: vrow)
                        }
                        for h in (g * group)..<((g + 1) * group) { axpy(sc[h * run + u], vrow, acc + h * vl, vl) }
                    }
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
