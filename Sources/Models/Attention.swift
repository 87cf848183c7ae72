import KVCache
import Foundation

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
                x[2 * i] = x0 * c[i] - x1 * s[i]
                x[2 * i + 1] = x0 * s[i] + x1 * c[i]
            }
        case .neox:
            for i in 0..<half {
                let x0 = x[i], x1 = x[i + half]
                x[i] = x0 * c[i] - x1 * s[i]
                x[i + half] = x0 * s[i] + x1 * c[i]
            }
        }
    }
}

/// Attention of a batch of queries over one layer of a sequence cache.
///
/// It streams over the cache's blocks (never materializing an n x n matrix). Work items are
/// (tile of up to `queryTile` consecutive queries, head): each key and value row is read and
/// widened from f16 once per tile and used by all its queries, which is what makes prefill
/// cheap; a single decoded token is one item per head. For each query the scores of the
/// visible keys go into a per-thread buffer (at most the stored length), then softmax, then the
/// weighted sum of values. Visibility is by position: a key is seen when its position is not
/// after the query's and, on a sliding layer, is less than `window` before it. With an f16
/// cache the query and the softmax weights are rounded to f16 first, as llama.cpp's matrix
/// products against f16 tensors do.
struct AttentionKernel {
    let heads: Int
    let kvHeads: Int
    let keyLength: Int
    let valueLength: Int
    let scoreScale: Float
    static let queryTile = 4

    /// Floats of per-thread scratch needed for a layer storing `stored` tokens.
    func scratchFloats(stored: Int) -> Int {
        Self.queryTile * (stored + keyLength + 8) + keyLength + valueLength + 64
    }

    func run(cache: SequenceKVCache, layer: Int, window: Int?, n: Int,
             q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
             pool: ThreadPool, scratch: Scratch) {
        let stored = cache.storedTokens(layer: layer)
        let bt = cache.configuration.blockTokens
        let half = cache.configuration.elementType == .f16
        let group = heads / kvHeads
        let qStride = heads * keyLength
        let oStride = heads * valueLength
        let base = cache.count
        let tile = n >= 2 * Self.queryTile ? Self.queryTile : 1
        let tiles = (n + tile - 1) / tile
        let storedCount = stored.count
        pool.run(chunks: tiles * heads) { item, worker in
            let i0 = (item / heads) * tile, h = item % heads, g = h / group
            let tq = min(tile, n - i0)
            let buf = scratch.buffer(worker)
            let qv = buf                                    // [tq][keyLength]
            let kv = qv + tile * keyLength                  // one widened key
            let vv = kv + keyLength                         // one widened value
            let scores = vv + valueLength                   // [tq][storedCount]
            let maxes = scores + tile * storedCount         // [tq]
            var qpos = (Int32(0), Int32(0), Int32(0), Int32(0))
            for t in 0..<tq {
                (qv + t * keyLength).update(from: q + (i0 + t) * qStride + h * keyLength, count: keyLength)
                if half { roundToHalf(qv + t * keyLength, keyLength) }
                let (qb, qs) = cache.slot(layer: layer, token: base + i0 + t)
                withUnsafeMutableBytes(of: &qpos) { $0.storeBytes(of: qb.positions[qs], toByteOffset: 4 * t, as: Int32.self) }
                maxes[t] = -.infinity
            }
            let qposOf: (Int) -> Int32 = { t in withUnsafeBytes(of: qpos) { $0.load(fromByteOffset: 4 * t, as: Int32.self) } }
            let lastQ = qposOf(tq - 1)
            @inline(__always) func visible(_ kp: Int32, _ qp: Int32) -> Bool {
                kp <= qp && (window == nil || qp - kp < Int32(window!))
            }

            // Scores of visible keys; -inf marks a masked slot.
            var t = stored.lowerBound
            var j = 0
            while t < stored.upperBound {
                let (block, s0) = cache.slot(layer: layer, token: t)
                let m = min(bt - s0, stored.upperBound - t)
                for s in s0..<(s0 + m) {
                    let kp = block.positions[s]
                    // Keys after the last query of the tile are masked for the whole tile.
                    if kp > lastQ {
                        for u in 0..<tq { scores[u * storedCount + j] = -.infinity }
                        j += 1
                        continue
                    }
                    let row = block.key(s)
                    let k: UnsafePointer<Float>
                    if half {
                        halfsToFloats(row + 2 * g * keyLength, kv, keyLength)
                        k = UnsafePointer(kv)
                    } else {
                        k = UnsafePointer(row.assumingMemoryBound(to: Float.self) + g * keyLength)
                    }
                    for u in 0..<tq {
                        var score = -Float.infinity
                        if visible(kp, qposOf(u)) {
                            score = dot(qv + u * keyLength, k, keyLength) * scoreScale
                            if score > maxes[u] { maxes[u] = score }
                        }
                        scores[u * storedCount + j] = score
                    }
                    j += 1
                }
                t += m
            }

            // Softmax per query, then the weighted sum of values.
            for u in 0..<tq {
                let sc = scores + u * storedCount
                let mx = maxes[u]
                var sum: Double = 0
                for x in 0..<j {
                    let e = sc[x] == -.infinity ? 0 : expf(sc[x] - mx)
                    sc[x] = e
                    sum += Double(e)
                }
                let inv = Float(1 / sum)
                for x in 0..<j { sc[x] *= inv }
                if half { roundToHalf(sc, j) }
                (out + (i0 + u) * oStride + h * valueLength).initialize(repeating: 0, count: valueLength)
            }
            t = stored.lowerBound
            j = 0
            while t < stored.upperBound {
                let (block, s0) = cache.slot(layer: layer, token: t)
                let m = min(bt - s0, stored.upperBound - t)
                for s in s0..<(s0 + m) {
                    var any = false
                    for u in 0..<tq where scores[u * storedCount + j] != 0 { any = true; break }
                    if any {
                        let row = block.value(s)
                        let v: UnsafePointer<Float>
                        if half {
                            halfsToFloats(row + 2 * g * valueLength, vv, valueLength)
                            v = UnsafePointer(vv)
                        } else {
                            v = UnsafePointer(row.assumingMemoryBound(to: Float.self) + g * valueLength)
                        }
                        for u in 0..<tq {
                            let p = scores[u * storedCount + j]
                            if p != 0 { axpy(p, v, out + (i0 + u) * oStride + h * valueLength, valueLength) }
                        }
                    }
                    j += 1
                }
                t += m
            }
        }
    }
}

import TensorFormats

@inline(__always) func halfToFloatRounded(_ x: Float) -> Float { halfToFloat(floatToHalf(x)) }
