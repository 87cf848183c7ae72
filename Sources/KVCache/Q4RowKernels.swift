#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Attention's two products over `q4` rows, a run of rows and a tile of query heads per call:
/// each row's codes are unpacked once for every query head sharing its KV head (grouped-query
/// attention), the heads' sums stay in registers, and the call is made once per run rather
/// than once per row and head. Rows are `base + slots[u] * rowStride` (a `KVBlock`'s layout).
extension Q4Rows {
    /// `out[h * stride + u] = scale · dot(row u, query h)` for `heads` 8-bit queries
    /// (`x`: `[heads][count]`, `scales`: `[heads][count / 32]`, from `quantizeQuery`). Each
    /// score is computed exactly as `dot` computes it.
    public func scoreRows(_ base: UnsafeRawPointer, rowStride: Int, slots: UnsafePointer<Int32>, _ c: Int, count: Int,
                          heads: Int, x: UnsafePointer<Int8>, scales: UnsafePointer<Float>, scale: Float,
                          into out: UnsafeMutablePointer<Float>, stride: Int) {
        #if arch(x86_64)
        var h = 0
        while h < heads {
            let tile = min(4, heads - h)
            let xh = x + h * count, sh = scales + h * (count / 32), oh = out + h * stride
            switch tile {
            case 1: scoreTile(Tile1.self, base, rowStride, slots, c, count, xh, sh, scale, oh, stride)
            case 2: scoreTile(Tile2.self, base, rowStride, slots, c, count, xh, sh, scale, oh, stride)
            case 3: scoreTile(Tile3.self, base, rowStride, slots, c, count, xh, sh, scale, oh, stride)
            default: scoreTile(Tile4.self, base, rowStride, slots, c, count, xh, sh, scale, oh, stride)
            }
            h += tile
        }
        #else
        portableScoreRows(base, rowStride: rowStride, slots: slots, c, count: count, heads: heads, x: x, scales: scales,
                          scale: scale, into: out, stride: stride)
        #endif
    }

    /// `scoreRows` in plain Swift (the path of every other architecture; tested on x86-64 too).
    public func portableScoreRows(_ base: UnsafeRawPointer, rowStride: Int, slots: UnsafePointer<Int32>, _ c: Int, count: Int,
                                  heads: Int, x: UnsafePointer<Int8>, scales: UnsafePointer<Float>, scale: Float,
                                  into out: UnsafeMutablePointer<Float>, stride: Int) {
        for u in 0..<c {
            let row = base + Int(slots[u]) * rowStride
            for h in 0..<heads {
                out[h * stride + u] = scale * portableDot(row, count: count, x: x + h * count, scales: scales + h * (count / 32))
            }
        }
    }

    /// `acc[h][j] += Σ_u weights[h * stride + u] · row_u[j]` for `heads` accumulators
    /// (`acc`: `[heads][count]`) over the `c` rows, in row order per element.
    public func accumulateRows(_ base: UnsafeRawPointer, rowStride: Int, slots: UnsafePointer<Int32>, _ c: Int, count: Int,
                               heads: Int, weights: UnsafePointer<Float>, stride: Int, into acc: UnsafeMutablePointer<Float>) {
        #if arch(x86_64)
        var h = 0
        while h < heads {
            let tile = min(4, heads - h)
            let wh = weights + h * stride, ah = acc + h * count
            switch tile {
            case 1: accumulateTile(Tile1.self, base, rowStride, slots, c, count, wh, stride, ah)
            case 2: accumulateTile(Tile2.self, base, rowStride, slots, c, count, wh, stride, ah)
            case 3: accumulateTile(Tile3.self, base, rowStride, slots, c, count, wh, stride, ah)
            default: accumulateTile(Tile4.self, base, rowStride, slots, c, count, wh, stride, ah)
            }
            h += tile
        }
        #else
        portableAccumulateRows(base, rowStride: rowStride, slots: slots, c, count: count, heads: heads, weights: weights,
                               stride: stride, into: acc)
        #endif
    }

    /// `accumulateRows` in plain Swift (the path of every other architecture; tested on x86-64 too).
    public func portableAccumulateRows(_ base: UnsafeRawPointer, rowStride: Int, slots: UnsafePointer<Int32>, _ c: Int,
                                       count: Int, heads: Int, weights: UnsafePointer<Float>, stride: Int,
                                       into acc: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { buffer in
            let row = buffer.baseAddress!
            for u in 0..<c {
                dequantize(base + Int(slots[u]) * rowStride, count: count, into: row)
                for h in 0..<heads {
                    let w = weights[h * stride + u], a = acc + h * count
                    // A product, then a sum (as `axpy` and the x86-64 kernel): the same floats.
                    for j in 0..<count { a[j] += w * row[j] }
                }
            }
        }
    }

    #if arch(x86_64)
    /// `scoreRows` for `T.count` heads: per 32-element run, the codes become levels once and
    /// meet each head's 8-bit query in `dot`'s integer products.
    @inline(__always)
    private func scoreTile<T: HeadTile>(_: T.Type, _ base: UnsafeRawPointer, _ rowStride: Int, _ slots: UnsafePointer<Int32>,
                                        _ c: Int, _ count: Int, _ x: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>,
                                        _ scale: Float, _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
        let n = T.count
        let table16 = unsafeBitCast(levels.values, to: SIMD2<Int64>.self)
        let table = _mm256_set_m128i(table16, table16), ones = _mm256_set1_epi16(1)
        let runs = groupSize / 32, blocks = count / 32, groupBytes = groupBytes
        for u in 0..<c {
            let row = base + Int(slots[u]) * rowStride
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            for g in 0..<(count / groupSize) {
                let blk = row + groupBytes * g, d = Self.scale(blk)
                for r in 0..<runs {
                    let b = runs * g + r
                    let v = _mm256_shuffle_epi8(table, Self.nibbles(blk + 2 + 16 * r))
                    let magnitudes = _mm256_sign_epi8(v, v)
                    // |v| · (q with v's sign): maddubs takes unsigned bytes on its left.
                    @inline(__always) func term(_ h: Int) -> (SIMD8<Float>, SIMD8<Float>) {
                        let q = UnsafeRawPointer(x + h * count + 32 * b).loadUnaligned(as: SIMD4<Int64>.self)
                        let sum = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitudes, _mm256_sign_epi8(q, v)), ones)
                        return (_mm256_cvtepi32_ps(sum), SIMD8(repeating: d * scales[h * blocks + b]))
                    }
                    var t = term(0)
                    a0.addProduct(t.0, t.1)
                    if n > 1 { t = term(1); a1.addProduct(t.0, t.1) }
                    if n > 2 { t = term(2); a2.addProduct(t.0, t.1) }
                    if n > 3 { t = term(3); a3.addProduct(t.0, t.1) }
                }
            }
            out[u] = scale * a0.sum()
            if n > 1 { out[stride + u] = scale * a1.sum() }
            if n > 2 { out[2 * stride + u] = scale * a2.sum() }
            if n > 3 { out[3 * stride + u] = scale * a3.sum() }
        }
    }

    /// `accumulateRows` for `T.count` heads, 16 elements (one nibble half of a run) at a time:
    /// the heads' 16 sums stay in registers across the rows, each row's codes become floats
    /// once (levels times the group scale, as `dequantize` gives them) for all the heads, and
    /// each sum is updated as `axpy` does (a product, then a sum: the results of a dequantized
    /// row accumulated row by row, bit for bit).
    @inline(__always)
    private func accumulateTile<T: HeadTile>(_: T.Type, _ base: UnsafeRawPointer, _ rowStride: Int,
                                             _ slots: UnsafePointer<Int32>, _ c: Int, _ count: Int,
                                             _ weights: UnsafePointer<Float>, _ stride: Int, _ acc: UnsafeMutablePointer<Float>) {
        let n = T.count
        let table = unsafeBitCast(levels.values, to: SIMD2<Int64>.self), mask = _mm_set1_epi8(0x0F)
        let groupBytes = groupBytes
        @inline(__always) func load(_ h: Int, _ j: Int) -> SIMD8<Float> {
            UnsafeRawPointer(acc + h * count + j).loadUnaligned(as: SIMD8<Float>.self)
        }
        @inline(__always) func store(_ v: SIMD8<Float>, _ h: Int, _ j: Int) {
            UnsafeMutableRawPointer(acc + h * count + j).storeBytes(of: v, as: SIMD8<Float>.self)
        }
        var j = 0
        while j < count {
            let group = j / groupSize, within = j % groupSize
            let scaleOffset = groupBytes * group, codeOffset = scaleOffset + 2 + 16 * (within / 32)
            let high = within % 32 >= 16
            var s00 = load(0, j), s01 = load(0, j + 8)
            var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s20 = SIMD8<Float>(), s21 = SIMD8<Float>()
            var s30 = SIMD8<Float>(), s31 = SIMD8<Float>()
            if n > 1 { s10 = load(1, j); s11 = load(1, j + 8) }
            if n > 2 { s20 = load(2, j); s21 = load(2, j + 8) }
            if n > 3 { s30 = load(3, j); s31 = load(3, j + 8) }
            for u in 0..<c {
                let row = base + Int(slots[u]) * rowStride
                let bytes = (row + codeOffset).loadUnaligned(as: SIMD2<Int64>.self)
                let codes = _mm_and_si128(high ? _mm_srli_epi16(bytes, 4) : bytes, mask)
                let lv = _mm_shuffle_epi8(table, codes)
                let d = SIMD8<Float>(repeating: Self.scale(row + scaleOffset))
                let v0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lv)) * d
                let v1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(lv, lv))) * d
                var w = SIMD8<Float>(repeating: weights[u])
                s00 += w * v0; s01 += w * v1
                if n > 1 {
                    w = SIMD8<Float>(repeating: weights[stride + u])
                    s10 += w * v0; s11 += w * v1
                }
                if n > 2 {
                    w = SIMD8<Float>(repeating: weights[2 * stride + u])
                    s20 += w * v0; s21 += w * v1
                }
                if n > 3 {
                    w = SIMD8<Float>(repeating: weights[3 * stride + u])
                    s30 += w * v0; s31 += w * v1
                }
            }
            store(s00, 0, j); store(s01, 0, j + 8)
            if n > 1 { store(s10, 1, j); store(s11, 1, j + 8) }
            if n > 2 { store(s20, 2, j); store(s21, 2, j + 8) }
            if n > 3 { store(s30, 3, j); store(s31, 3, j + 8) }
            j += 16
        }
    }
    #endif
}

/// How many query heads a kernel call keeps in registers (a type, so each count gets its own
/// specialized loop).
private protocol HeadTile { static var count: Int { get } }
private enum Tile1: HeadTile { static var count: Int { 1 } }
private enum Tile2: HeadTile { static var count: Int { 2 } }
private enum Tile3: HeadTile { static var count: Int { 3 } }
private enum Tile4: HeadTile { static var count: Int { 4 } }
