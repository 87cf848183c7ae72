import Foundation
import KVCache

/// llama.cpp's CPU flash attention over an f16 cache (its default), reproduced operation for
/// operation: the same one of its three paths runs, every sum is taken in the same order, the
/// same values round to f16, and softmax uses the same vectorized exponential. Given the same
/// queries, keys and values, a token's output is the same float for float as llama.cpp's
/// x86-64 AVX2 build (`ggml_compute_forward_flash_attn_ext_f16` in ggml-cpu's ops.cpp).
/// Anything looser shows: an f16 rounding of these small models' activations moves
/// their log-probabilities by about 0.1 nats, so a result "as accurate" but summed otherwise
/// drifts from llama.cpp's as far as llama.cpp's own settings drift from each other.
///
/// The paths, by batch:
/// - `rows`, fewer than 64 queries: each (query, head) walks its keys in cell order with the
///   query and the running weighted values in f16 and a scalar online softmax.
/// - `tiles`, 64 queries or more: keys in tiles of 64 cells, scores and weighted values in f32
///   summed as one chain per output, the tile's exponentials 8 at a time.
/// - `split`, one query over 512 cells or more: the cells cut into one range per thread, each
///   walked as `rows`, then the partial softmaxes merged in order.
///
/// Cells are llama.cpp's: token t of the sequence sits in cell t, and a layer's view spans
/// max(256, the token count rounded up to 256) cells.
struct LlamaCppF16AttentionJob: AttentionCallJob {
    enum Path: Equatable {
        case rows
        case tiles
        case split(chunks: Int, chunkSize: Int)
    }

    let call: AttentionCall
    /// `split`: per (head, chunk): maximum, sum, then `valueLength` weighted values.
    let partials: UnsafeMutablePointer<Float>
    /// Queries in the batch.
    let n: Int
    let path: Path

    static let keyTile = 64
    /// Queries per chunk on the `tiles` path: each key tile is widened once for all of them.
    static let queryTile = 16

    /// Cells in llama.cpp's view of a cache holding `tokens` tokens.
    static func cells(tokens: Int) -> Int { max(256, (tokens + 255) / 256 * 256) }

    static func path(tokens n: Int, stored: Int, threads: Int) -> Path {
        let cells = cells(tokens: stored)
        if n == 1 && cells >= 512 {
            return .split(chunks: threads, chunkSize: (cells + threads - 1) / threads)
        }
        return n >= keyTile ? .tiles : .rows
    }

    static func chunks(_ path: Path, tokens n: Int) -> Int {
        switch path {
        case .rows: return n
        case .tiles: return (n + queryTile - 1) / queryTile
        case .split(let chunks, _): return chunks
        }
    }

    static func scratchFloats(_ k: AttentionKernel) -> Int {
        let group = k.heads / k.kvHeads
        return keyTile * (k.keyLength + k.valueLength + 3) + queryTile * (group * (k.valueLength + 2) + 1)
            + k.heads * k.keyLength + k.valueLength
    }

    static func partialFloats(_ k: AttentionKernel, path: Path) -> Int {
        if case .split(let chunks, _) = path { return k.heads * chunks * (k.valueLength + 2) }
        return 0
    }

    func run(chunk: Int, worker: Int) {
        switch path {
        case .rows:
            for h in 0..<kernel.heads { rows(query: chunk, head: h, cells: stored, worker: worker, partial: nil) }
        case .tiles:
            tiles(queries: (chunk * Self.queryTile)..<min((chunk + 1) * Self.queryTile, n), worker: worker)
        case .split(let chunks, let size):
            let cells = (chunk * size)..<((chunk + 1) * size)
            for h in 0..<kernel.heads {
                rows(query: 0, head: h, cells: cells, worker: worker,
                     partial: partials + (h * chunks + chunk) * (kernel.valueLength + 2))
            }
        }
    }

    @inline(__always)
    private func visible(_ kp: Int32, from qpos: Int32) -> Bool {
        kp <= qpos && (window == nil || qpos - kp < Int32(window!))
    }

    /// One (query, head) over `cells` in order (ggml's `one_chunk`); writes the output, or
    /// the partial softmax to `partial`.
    private func rows(query i: Int, head h: Int, cells: Range<Int>, worker: Int, partial: UnsafeMutablePointer<Float>?) {
        let kl = kernel.keyLength, vl = kernel.valueLength, g = h / (kernel.heads / kernel.kvHeads)
        let buf = UnsafeMutableRawPointer(scratch.buffer(worker))
        let q16 = buf.bindMemory(to: Float16.self, capacity: kl + vl)
        let acc16 = q16 + kl
        let qrow = q + (i * kernel.heads + h) * kl
        for j in 0..<kl { q16[j] = Float16(qrow[j]) }
        acc16.initialize(repeating: 0, count: vl)
        let (qb, qslot) = cache.slot(layer: layer, token: base + i)
        let qpos = qb.positions[qslot]
        var m = -Float.infinity, s: Float = 0
        let lo = max(cells.lowerBound, stored.lowerBound), hi = min(cells.upperBound, stored.upperBound)
        let bt = cache.configuration.blockTokens
        var t = lo
        while t < hi {
            let (block, s0) = cache.slot(layer: layer, token: t)
            let count = min(bt - s0, hi - t)
            for slot in s0..<(s0 + count) where visible(block.positions[slot], from: qpos) {
                let score = dotHalfGgml(block.key(slot) + 2 * g * kl, UnsafeRawPointer(q16), kl) * kernel.scoreScale
                var ms: Float = 1, vs: Float = 1
                if score > m {
                    ms = expf(m - score)
                    m = score
                    scaleHalves(acc16, ms, vl)
                } else {
                    vs = expf(score - m)
                }
                addScaledHalves(block.value(slot) + 2 * g * vl, vs, into: acc16, vl)
                s = vs.addingProduct(s, ms)
            }
            t += count
        }
        if let partial {
            partial[0] = m
            partial[1] = s
            for j in 0..<vl { partial[2 + j] = Float(acc16[j]) }
        } else {
            let o = out + (i * kernel.heads + h) * vl
            let inv: Float = s == 0 ? 0 : 1 / s
            for j in 0..<vl { o[j] = Float(acc16[j]) * inv }
        }
    }

    /// Up to `queryTile` queries over the keys in tiles of 64 cells (ggml's `tiled` path).
    private func tiles(queries: Range<Int>, worker: Int) {
        let kl = kernel.keyLength, vl = kernel.valueLength, heads = kernel.heads
        let group = heads / kernel.kvHeads, tile = Self.keyTile
        let buf = scratch.buffer(worker)
        let kt = buf                          // [kl][tile], widened keys, transposed
        let vt = kt + kl * tile               // [tile][vl]
        let kq = vt + tile * vl               // [tile]
        let rowVisible = kq + tile            // [tile], 1 where the key is visible
        let keyPositions = rowVisible + tile  // [tile], as floats (exact below 2^24); nan: no key
        let queryPositions = keyPositions + tile  // [queryTile]
        let state = queryPositions + Self.queryTile  // per (query, head in group): max, sum, [vl] values
        let stateFloats = vl + 2
        for (k, i) in queries.enumerated() {
            let (qb, qslot) = cache.slot(layer: layer, token: base + i)
            queryPositions[k] = Float(qb.positions[qslot])
        }
        let window = self.window.map(Float.init)
        let scale = kernel.scoreScale
        for g in 0..<kernel.kvHeads {
            for r in 0..<(queries.count * group) {
                let p = state + r * stateFloats
                p[0] = -.infinity
                p[1] = 0
                (p + 2).initialize(repeating: 0, count: vl)
            }
            var tileStart = stored.lowerBound / tile * tile
            while tileStart < stored.upperBound {
                let lo = max(tileStart, stored.lowerBound), hi = min(tileStart + tile, stored.upperBound)
                // Columns without a key keep stale values: their scores become -inf below.
                keyPositions.initialize(repeating: .nan, count: tile)
                for t in lo..<hi {
                    let (block, slot) = cache.slot(layer: layer, token: t)
                    let key = block.key(slot) + 2 * g * kl, value = block.value(slot) + 2 * g * vl
                    let c = t - tileStart
                    keyPositions[c] = Float(block.positions[slot])
                    for d in 0..<kl { kt[d * tile + c] = Float(key.load(fromByteOffset: 2 * d, as: Float16.self)) }
                    for d in 0..<vl { vt[c * vl + d] = Float(value.load(fromByteOffset: 2 * d, as: Float16.self)) }
                }
                for (k, i) in queries.enumerated() {
                    var any = false
                    let qp = queryPositions[k]
                    for c in 0..<tile {
                        // NaN (no key) compares false.
                        let kp = keyPositions[c]
                        let v = kp <= qp && (window == nil || qp - kp < window!)
                        rowVisible[c] = v ? 1 : 0
                        any = any || v
                    }
                    if !any { continue }
                    for hg in 0..<group {
                        let h = g * group + hg
                        let st = state + (k * group + hg) * stateFloats
                        tileScores(q + (i * heads + h) * kl, kt, kl, scale: scale, visible: rowVisible, into: kq)
                        var tileMax = -Float.infinity
                        for c in 0..<tile { tileMax = max(tileMax, kq[c]) }
                        let mOld = st[0], mNew = max(mOld, tileMax)
                        if mNew > mOld {
                            let ms = expf(mOld - mNew)
                            scale8(st + 2, ms, vl)
                            st[1] *= ms
                        }
                        st[0] = mNew
                        st[1] = Float(Double(st[1]) + softmaxGgml(kq, tile, minus: mNew))
                        for c in 0..<tile where kq[c] != 0 {
                            addScaled8(vt + c * vl, kq[c], into: st + 2, vl)
                        }
                    }
                }
                tileStart += tile
            }
            for (k, i) in queries.enumerated() {
                for hg in 0..<group {
                    let st = state + (k * group + hg) * stateFloats
                    let o = out + (i * heads + g * group + hg) * vl
                    let inv: Float = st[1] == 0 ? 0 : 1 / st[1]
                    for j in 0..<vl { o[j] = st[2 + j] * inv }
                }
            }
        }
    }

    /// Merges the `split` path's partial softmaxes, chunk by chunk in order (ggml's
    /// `reduce_partials`).
    func merge() {
        guard case .split(let chunks, _) = path else { return }
        let vl = kernel.valueLength
        for h in 0..<kernel.heads {
            let o = out + h * vl
            o.initialize(repeating: 0, count: vl)
            var m = -Float.infinity, s: Float = 0
            for c in 0..<chunks {
                let p = partials + (h * chunks + c) * (vl + 2)
                if p[1] == 0 { continue }
                let mNew = max(m, p[0])
                let oldScale = expf(m - mNew), newScale = expf(p[0] - mNew)
                for j in 0..<vl { o[j] = (p[2 + j] * newScale).addingProduct(o[j], oldScale) }
                s = (p[1] * newScale).addingProduct(s, oldScale)
                m = mNew
            }
            if s != 0 { scale8(o, 1 / s, vl) }
        }
    }
}

/// `out[c]` = the query's dot product with key column `c` of `kt` (`[n][tile]`), one fused
/// multiply-add chain over `n` per key as ggml's `simd_gemm` takes it, times `scale`; -inf
/// where the key is not visible.
@inline(__always)
private func tileScores(_ q: UnsafePointer<Float>, _ kt: UnsafePointer<Float>, _ n: Int, scale: Float,
                        visible: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    let tile = LlamaCppF16AttentionJob.keyTile
    var a = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
             SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
    for d in 0..<n {
        let x = SIMD8<Float>(repeating: q[d]), row = kt + d * tile
        a.0.addProduct(load8(row, 0), x); a.1.addProduct(load8(row, 8), x)
        a.2.addProduct(load8(row, 16), x); a.3.addProduct(load8(row, 24), x)
        a.4.addProduct(load8(row, 32), x); a.5.addProduct(load8(row, 40), x)
        a.6.addProduct(load8(row, 48), x); a.7.addProduct(load8(row, 56), x)
    }
    store8(a.0 * scale, out, 0); store8(a.1 * scale, out, 8); store8(a.2 * scale, out, 16); store8(a.3 * scale, out, 24)
    store8(a.4 * scale, out, 32); store8(a.5 * scale, out, 40); store8(a.6 * scale, out, 48); store8(a.7 * scale, out, 56)
    for c in 0..<tile where visible[c] == 0 { out[c] = -.infinity }
}

/// `x[i] = e^(x[i] - m)` over `n` (a multiple of 8) values with ggml's AVX2 exponential;
/// returns their sum in double, 8 values at a time in ggml's order.
@inline(__always)
private func softmaxGgml(_ x: UnsafeMutablePointer<Float>, _ n: Int, minus m: Float) -> Double {
    var sum: Double = 0
    var i = 0
    while i < n {
        let v = expGgml(load8(x, i) - SIMD8(repeating: m))
        store8(v, x, i)
        let w = v.lowHalf + v.highHalf
        sum += Double((w[0] + w[2]) + (w[1] + w[3]))
        i += 8
    }
    return sum
}

/// ggml's `ggml_v_expf` for AVX2 with FMA, lane for lane (an ARM optimized-routines
/// polynomial; within 1.5 ulp of e^x, 0 below about -104).
@inline(__always)
func expGgml(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let r = SIMD8<Float>(repeating: 0x1.8p23)
    let z = r.addingProduct(x, SIMD8(repeating: 0x1.715476p+0))
    let n = z - r
    let b = x.addingProduct(-n, SIMD8(repeating: 0x1.62e4p-1)).addingProduct(-n, SIMD8(repeating: 0x1.7f7d1cp-20))
    let e = unsafeBitCast(z, to: SIMD8<UInt32>.self) &<< 23
    let one = unsafeBitCast(SIMD8<Float>(repeating: 1), to: SIMD8<UInt32>.self)
    let k = unsafeBitCast(e &+ one, to: SIMD8<Float>.self)
    let an = unsafeBitCast(unsafeBitCast(n, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    let c = an .> 126
    let u = b * b
    let p1 = SIMD8<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD8(repeating: 0x1.0e4020p-7), b)
    let p2 = SIMD8<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD8(repeating: 0x1.555e66p-3), b)
    let j = (SIMD8<Float>(repeating: 0x1.ffffecp-1) * b).addingProduct(p2.addingProduct(p1, u), u)
    let fast = k.addingProduct(k, j)
    if !any(c) { return fast }
    let g = SIMD8<UInt32>(repeating: 0).replacing(with: 0x8200_0000, where: n .<= 0)
    let s1 = unsafeBitCast(g &+ 0x7F00_0000, to: SIMD8<Float>.self)
    let s2 = unsafeBitCast(e &- g, to: SIMD8<Float>.self)
    let d = an .> 192
    let slow = s2.addingProduct(s2, j) * s1
    return fast.replacing(with: slow, where: c).replacing(with: s1 * s1, where: d)
}

/// ggml's `ggml_vec_dot_f16` on AVX2: four 8-lane fused multiply-add chains over each 32
/// values, then its reduction order (n a multiple of 32; leftovers in double).
@inline(__always)
func dotHalfGgml(_ x: UnsafeRawPointer, _ y: UnsafeRawPointer, _ n: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
    let np = n & ~31
    var i = 0
    while i < np {
        s0.addProduct(loadHalf8(x, i), loadHalf8(y, i))
        s1.addProduct(loadHalf8(x, i + 8), loadHalf8(y, i + 8))
        s2.addProduct(loadHalf8(x, i + 16), loadHalf8(y, i + 16))
        s3.addProduct(loadHalf8(x, i + 24), loadHalf8(y, i + 24))
        i += 32
    }
    let t = (s0 + s2) + (s1 + s3)
    let w = t.lowHalf + t.highHalf
    var sum = Double((w[0] + w[1]) + (w[2] + w[3]))
    let xh = x.assumingMemoryBound(to: Float16.self), yh = y.assumingMemoryBound(to: Float16.self)
    while i < n {
        sum += Double(Float(xh[i]) * Float(yh[i]))
        i += 1
    }
    return Float(sum)
}

/// `y = f16(y * a)` over `n` (a multiple of 8) f16 values (ggml's `ggml_vec_scale_f16`).
@inline(__always)
private func scaleHalves(_ y: UnsafeMutablePointer<Float16>, _ a: Float, _ n: Int) {
    let va = SIMD8<Float>(repeating: a)
    var i = 0
    while i < n {
        let v = loadHalf8(UnsafeRawPointer(y), i) * va
        UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD8<Float16>(v), as: SIMD8<Float16>.self)
        i += 8
    }
}

/// `y = f16(fma(x, a, y))` over `n` (a multiple of 8) f16 values (ggml's `ggml_vec_mad_f16`).
@inline(__always)
private func addScaledHalves(_ x: UnsafeRawPointer, _ a: Float, into y: UnsafeMutablePointer<Float16>, _ n: Int) {
    let va = SIMD8<Float>(repeating: a)
    var i = 0
    while i < n {
        var v = loadHalf8(UnsafeRawPointer(y), i)
        v.addProduct(loadHalf8(x, i), va)
        UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD8<Float16>(v), as: SIMD8<Float16>.self)
        i += 8
    }
}

/// `y *= a` over `n` floats (a multiple of 8).
@inline(__always)
private func scale8(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ n: Int) {
    var i = 0
    while i < n {
        store8(load8(y, i) * a, y, i)
        i += 8
    }
}

/// `y = fma(x, a, y)` over `n` floats (a multiple of 8).
@inline(__always)
private func addScaled8(_ x: UnsafePointer<Float>, _ a: Float, into y: UnsafeMutablePointer<Float>, _ n: Int) {
    let va = SIMD8<Float>(repeating: a)
    var i = 0
    while i < n {
        var v = load8(y, i)
        v.addProduct(load8(x, i), va)
        store8(v, y, i)
        i += 8
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
