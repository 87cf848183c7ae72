import Foundation
import KVCache

/// Attention over an f16 cache in the manner of llama.cpp's CPU flash attention (query rounded
/// to f16, online softmax, one division at the end), organised for grouped-query attention.
///
/// One chunk is one query token and one slice of the stored keys, for every head: each token's
/// keys and values are read from memory once, in order, and each KV head's row is widened once
/// for the query heads sharing it. A decoded token is one chunk per slice: its keys are split
/// into slices, each giving a partial softmax (its maximum, its sum and its weighted values)
/// that `merge` combines as flash decoding does. Running sums are kept in f32 (llama.cpp keeps the values' in f16; the
/// difference is below the reference's own f16/f32 noise).
struct HalfAttentionJob: PoolJob {
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
    /// A prefill batch, whose keys and values were just written and sit in cache: rows are
    /// read in register-blocked tiles. A decoded token streams them from memory, where reading
    /// each row whole and in order (as the prefetcher expects) is faster.
    let batch: Bool
    /// Query tokens in the call, and per chunk (see `tile(tokens:threads:)`).
    let tokens: Int
    let tile: Int

    /// Visible keys per online-softmax step.
    static let run = 32

    /// Most query tokens one chunk of a batch takes. They walk the keys together, run by run,
    /// so a run of keys and values comes from memory once per tile and from cache for the
    /// others: at depth a layer's keys outgrow the cache, and a chunk per token read them all
    /// from memory once per token. Each token's sums are its own and taken in the same order
    /// whatever its tile, so results do not depend on the tiling.
    static let maxTile = 8

    /// Query tokens per chunk: up to `maxTile`, leaving at least four chunks per thread.
    static func tile(tokens n: Int, threads: Int) -> Int {
        n <= 1 ? 1 : max(1, min(maxTile, n / (4 * threads)))
    }

    /// Pool chunks of a call: one per tile of tokens and key slice.
    static func chunks(tokens n: Int, slices: Int, tile: Int) -> Int { (n + tile - 1) / tile * slices }

    /// Key slices for one decoded token: about eight chunks per thread, slices of at least 128
    /// keys. A batch is not sliced, so a token's result does not depend on which batch (of more
    /// than one) it came in.
    static func slices(tokens n: Int, stored: Int, threads: Int) -> Int {
        guard n == 1 else { return 1 }
        return max(1, min(8 * threads, stored / 128))
    }

    /// Floats of per-thread scratch for `kernel`.
    static func scratchFloats(_ k: AttentionKernel) -> Int {
        maxTile * (k.heads * (k.keyLength + k.valueLength + 2) + 1) + k.heads * run + run
    }

    /// Floats of `partials` for `n` tokens cut into `slices`.
    static func partialFloats(_ k: AttentionKernel, tokens n: Int, slices: Int) -> Int {
        slices > 1 ? n * k.heads * slices * (k.valueLength + 2) : 0
    }

    func run(chunk: Int, worker: Int) {
        let heads = kernel.heads, kl = kernel.keyLength, vl = kernel.valueLength
        let slice = chunk % slices, first = chunk / slices * tile, count = min(tile, tokens - first)
        let lo = stored.lowerBound + stored.count * slice / slices
        let hi = stored.lowerBound + stored.count * (slice + 1) / slices

        let buf = scratch.buffer(worker)
        let qs = buf                                   // [tile][heads][kl]
        let acc = qs + Self.maxTile * heads * kl       // [tile][heads][vl]
        let maxes = acc + Self.maxTile * heads * vl    // [tile][heads]
        let sums = maxes + Self.maxTile * heads        // [tile][heads]
        let sc = sums + Self.maxTile * heads           // [heads][run]
        let positions = sc + heads * Self.run          // [tile] then [run], as Int32
        let queryPositions = UnsafeMutableRawPointer(positions).bindMemory(to: Int32.self, capacity: Self.maxTile)
        let rows = UnsafeMutableRawPointer(positions + Self.maxTile).bindMemory(to: Int32.self, capacity: Self.run)

        qs.update(from: q + first * heads * kl, count: count * heads * kl)
        roundToHalf(qs, count * heads * kl)
        maxes.initialize(repeating: -.infinity, count: count * heads)
        sums.initialize(repeating: 0, count: count * heads)
        acc.initialize(repeating: 0, count: count * heads * vl)
        for k in 0..<count {
            let (qb, qslot) = cache.slot(layer: layer, token: base + first + k)
            queryPositions[k] = qb.positions[qslot]
        }
        let bt = cache.configuration.blockTokens

        var t = lo
        while t < hi {
            let (block, s0) = cache.slot(layer: layer, token: t)
            let end = s0 + min(bt - s0, hi - t)
            var s = s0
            while s < end {
                let runEnd = min(end, s + Self.run)
                for k in 0..<count {
                    step(block, slots: s..<runEnd, qpos: queryPositions[k], q: qs + k * heads * kl,
                         acc: acc + k * heads * vl, maxes: maxes + k * heads, sums: sums + k * heads, sc: sc, rows: rows)
                }
                s = runEnd
            }
            t += end - s0
        }

        for k in 0..<count {
            let i = first + k
            for h in 0..<heads {
                let m = maxes[k * heads + h], sum = sums[k * heads + h], a = acc + (k * heads + h) * vl
                if slices == 1 {
                    let o = out + (i * heads + h) * vl
                    let inv: Float = sum == 0 ? 0 : 1 / sum
                    for j in 0..<vl { o[j] = a[j] * inv }
                } else {
                    let p = partials + ((i * heads + h) * slices + slice) * (vl + 2)
                    p[0] = m
                    p[1] = sum
                    (p + 2).update(from: a, count: vl)
                }
            }
        }
    }

    /// One query token over one run of `slots`: its visible keys listed once for every head,
    /// scored, folded into the running softmax (`maxes`, `sums`) and weighted values (`acc`).
    @inline(__always)
    private func step(_ block: KVBlock, slots: Range<Int>, qpos: Int32, q qs: UnsafePointer<Float>,
                      acc: UnsafeMutablePointer<Float>, maxes: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>,
                      sc: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Int32>) {
        let heads = kernel.heads, kvHeads = kernel.kvHeads, group = heads / kvHeads
        let kl = kernel.keyLength, vl = kernel.valueLength, scoreScale = kernel.scoreScale
        let run = Self.run
        var c = 0
        for s in slots {
            let kp = block.positions[s]
            if kp <= qpos && (window == nil || qpos - kp < Int32(window!)) {
                rows[c] = Int32(s)
                c += 1
            }
        }
        if c == 0 { return }
        if batch {
            for g in 0..<kvHeads {
                let q = qs + g * group * kl, out = sc + g * group * run
                var u = 0
                while u + 2 <= c {
                    groupScores2(q, group: group, keys: block.key(Int(rows[u])) + 2 * g * kl,
                                 block.key(Int(rows[u + 1])) + 2 * g * kl, kl, scale: scoreScale, into: out + u,
                                 stride: run)
                    u += 2
                }
                if u < c {
                    groupScores(q, group: group, key: block.key(Int(rows[u])) + 2 * g * kl, kl, scale: scoreScale,
                                into: out + u, stride: run)
                }
            }
        } else {
            for u in 0..<c {
                let key = block.key(Int(rows[u]))
                for g in 0..<kvHeads {
                    groupScores(qs + g * group * kl, group: group, key: key + 2 * g * kl, kl, scale: scoreScale,
                                into: sc + g * group * run + u, stride: run)
                }
            }
        }
        for h in 0..<heads {
            var m = -Float.infinity
            for u in 0..<c { m = max(m, sc[h * run + u]) }
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
        if batch {
            for g in 0..<kvHeads {
                groupAccumulate(block, rows: rows, c, offset: 2 * g * vl, vl, weights: sc + g * group * run,
                                stride: run, group: group, into: acc + g * group * vl)
            }
        } else {
            for u in 0..<c {
                let v = block.value(Int(rows[u]))
                for g in 0..<kvHeads {
                    groupAccumulate(v + 2 * g * vl, vl, weights: sc + g * group * run + u, stride: run,
                                    group: group, into: acc + g * group * vl)
                }
            }
        }
    }

    /// Combines the slices' partial softmaxes into the output (when there is more than one).
    func merge(tokens n: Int) {
        guard slices > 1 else { return }
        let heads = kernel.heads, vl = kernel.valueLength
        for item in 0..<(n * heads) {
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
}

/// `out[h * stride] = dot(q[h], key) * scale` for the `group` queries (`[group][n]`) of one f16
/// key row: the row is widened once, 8 values at a time, for all of them.
@inline(__always)
func groupScores(_ q: UnsafePointer<Float>, group: Int, key: UnsafeRawPointer, _ n: Int, scale: Float,
                 into out: UnsafeMutablePointer<Float>, stride: Int) {
    switch group {
    case 1: out[0] = dotHalf(q, key, n) * scale
    case 2: groupScores(C2.self, q, key, n, scale, out, stride)
    case 3: groupScores(C3.self, q, key, n, scale, out, stride)
    case 4: groupScores(C4.self, q, key, n, scale, out, stride)
    default: for h in 0..<group { out[h * stride] = dotHalf(q + h * n, key, n) * scale }
    }
}

/// `groupScores` for `G.value` (2...4) heads.
private func groupScores<G: Count>(_: G.Type, _ q: UnsafePointer<Float>, _ key: UnsafeRawPointer, _ n: Int, _ scale: Float,
                                   _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
    let group = G.value
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var j = 0
    while j < n {
        let k = loadHalf8(key, j)
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

/// `groupScores` for two keys at once: 2 x `group` accumulators, so each query slice loaded
/// serves both keys. Each score is summed in the same order as `groupScores` sums it.
@inline(__always)
func groupScores2(_ q: UnsafePointer<Float>, group: Int, keys k0: UnsafeRawPointer, _ k1: UnsafeRawPointer, _ n: Int,
                  scale: Float, into out: UnsafeMutablePointer<Float>, stride: Int) {
    switch group {
    case 2: groupScores2(C2.self, q, k0, k1, n, scale, out, stride)
    case 3: groupScores2(C3.self, q, k0, k1, n, scale, out, stride)
    case 4: groupScores2(C4.self, q, k0, k1, n, scale, out, stride)
    default:
        groupScores(q, group: group, key: k0, n, scale: scale, into: out, stride: stride)
        groupScores(q, group: group, key: k1, n, scale: scale, into: out + 1, stride: stride)
    }
}

/// `groupScores2` for `G.value` (2...4) heads.
private func groupScores2<G: Count>(_: G.Type, _ q: UnsafePointer<Float>, _ k0: UnsafeRawPointer, _ k1: UnsafeRawPointer,
                                    _ n: Int, _ scale: Float, _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
    let group = G.value
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
    var j = 0
    while j < n {
        let x = loadHalf8(k0, j), y = loadHalf8(k1, j)
        var v = load8(q, j)
        a0.addProduct(v, x); b0.addProduct(v, y)
        v = load8(q + n, j)
        a1.addProduct(v, x); b1.addProduct(v, y)
        if group > 2 {
            v = load8(q + 2 * n, j)
            a2.addProduct(v, x); b2.addProduct(v, y)
        }
        if group > 3 {
            v = load8(q + 3 * n, j)
            a3.addProduct(v, x); b3.addProduct(v, y)
        }
        j += 8
    }
    out[0] = a0.sum() * scale; out[1] = b0.sum() * scale
    out[stride] = a1.sum() * scale; out[stride + 1] = b1.sum() * scale
    if group > 2 { out[2 * stride] = a2.sum() * scale; out[2 * stride + 1] = b2.sum() * scale }
    if group > 3 { out[3 * stride] = a3.sum() * scale; out[3 * stride + 1] = b3.sum() * scale }
}

/// `acc[h] += weights[h * stride + u] * value(rows[u])` over the `c` listed rows of `block`
/// (values `offset` bytes into each row), 16 columns at a time: the `group` x 16 sums stay
/// in registers across the rows instead of going through memory once per row. Each sum
/// takes the rows in order, as one `groupAccumulate` per row would.
@inline(__always)
func groupAccumulate(_ block: KVBlock, rows: UnsafePointer<Int32>, _ c: Int, offset: Int, _ n: Int,
                     weights: UnsafePointer<Float>, stride: Int, group: Int, into acc: UnsafeMutablePointer<Float>) {
    guard n % 16 == 0 else {
        for u in 0..<c {
            groupAccumulate(block.value(Int(rows[u])) + offset, n, weights: weights + u, stride: stride, group: group, into: acc)
        }
        return
    }
    switch group {
    case 1: groupAccumulate(C1.self, block, rows, c, offset, n, weights, stride, acc)
    case 2: groupAccumulate(C2.self, block, rows, c, offset, n, weights, stride, acc)
    case 3: groupAccumulate(C3.self, block, rows, c, offset, n, weights, stride, acc)
    case 4: groupAccumulate(C4.self, block, rows, c, offset, n, weights, stride, acc)
    default:
        for u in 0..<c {
            groupAccumulate(block.value(Int(rows[u])) + offset, n, weights: weights + u, stride: stride, group: group, into: acc)
        }
    }
}

/// `groupAccumulate` for `G.value` (1...4) heads.
private func groupAccumulate<G: Count>(_: G.Type, _ block: KVBlock, _ rows: UnsafePointer<Int32>, _ c: Int, _ offset: Int,
                                       _ n: Int, _ weights: UnsafePointer<Float>, _ stride: Int,
                                       _ acc: UnsafeMutablePointer<Float>) {
    let group = G.value
    var j = 0
    while j < n {
        var s00 = load8(acc, j), s01 = load8(acc, j + 8)
        var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s20 = SIMD8<Float>(), s21 = SIMD8<Float>()
        var s30 = SIMD8<Float>(), s31 = SIMD8<Float>()
        if group > 1 { s10 = load8(acc + n, j); s11 = load8(acc + n, j + 8) }
        if group > 2 { s20 = load8(acc + 2 * n, j); s21 = load8(acc + 2 * n, j + 8) }
        if group > 3 { s30 = load8(acc + 3 * n, j); s31 = load8(acc + 3 * n, j + 8) }
        for u in 0..<c {
            let v = block.value(Int(rows[u])) + offset
            let v0 = loadHalf8(v, j), v1 = loadHalf8(v, j + 8)
            var w = SIMD8<Float>(repeating: weights[u])
            s00.addProduct(w, v0); s01.addProduct(w, v1)
            if group > 1 {
                w = SIMD8<Float>(repeating: weights[stride + u])
                s10.addProduct(w, v0); s11.addProduct(w, v1)
            }
            if group > 2 {
                w = SIMD8<Float>(repeating: weights[2 * stride + u])
                s20.addProduct(w, v0); s21.addProduct(w, v1)
            }
            if group > 3 {
                w = SIMD8<Float>(repeating: weights[3 * stride + u])
                s30.addProduct(w, v0); s31.addProduct(w, v1)
            }
        }
        store8(s00, acc, j); store8(s01, acc, j + 8)
        if group > 1 { store8(s10, acc + n, j); store8(s11, acc + n, j + 8) }
        if group > 2 { store8(s20, acc + 2 * n, j); store8(s21, acc + 2 * n, j + 8) }
        if group > 3 { store8(s30, acc + 3 * n, j); store8(s31, acc + 3 * n, j + 8) }
        j += 16
    }
}
