#if arch(x86_64)
import _Builtin_intrinsics.intel
/// The two inner loops of the tiled attention (`FastAttentionJob.runTile`; keys transposed to
/// floats, values in f16 or widened to f32) over 16-float registers, for CPUs with AVX-512.
///
/// Each score is one lane (a key) summing its products over the head dimension in order, and
/// each weighted value sum one lane (a column) taking the rows in order: the operations and
/// their order are the 8-float loops' own, so the results are the same bits. What changes is
/// the count of instructions per multiply-add (half) and of registers (32: a run's 32 keys for
/// four heads stay in registers).
///
/// Compiled with AVX-512 flags: call only when the CPU has AVX-512 F, BW and VL.
public enum WideTiles {
    /// Keys per run: the stride of the transposed keys and of the scores.
    public static let run = 32

    /// `out[h * stride + u] = scale · Σ_d q[h][d] · kt[d][u]` for the `group` (1...4) query heads
    /// (`[group][n]`) and columns `u < 16`, or `u < 32` when `keys > 16`, of the transposed keys
    /// `kt` (`[n][32]`). Columns past `keys` are computed from whatever `kt` holds there.
    /// With `queries: 2`, a second query's heads and scores sit `queryStride` floats after the
    /// first's: each key vector then serves both, and twice the independent sums keep both
    /// multiply-add units busy (one query of three heads leaves them waiting on latency).
    public static func scores(q: UnsafePointer<Float>, group: Int, kt: UnsafePointer<Float>, n: Int, keys: Int,
                              scale: Float, out: UnsafeMutablePointer<Float>, stride: Int,
                              queries: Int = 1, queryStride: Int = 0) {
        let next = queries == 2 ? queryStride : nil
        switch group {
        case 1: scores(G1.self, q, kt, n, keys, scale, out, stride, next)
        case 2: scores(G2.self, q, kt, n, keys, scale, out, stride, next)
        case 3: scores(G3.self, q, kt, n, keys, scale, out, stride, next)
        default: scores(G4.self, q, kt, n, keys, scale, out, stride, next)
        }
    }

    /// `acc[h][j] += Σ_u weights[h * stride + u] · value(rows[u])[j]` for the `group` (1...4)
    /// heads, rows taken in order, `n` (a multiple of 32) f16 values a row (f32 with
    /// `floats`), row `r` at `values + r * rowBytes`. With `queries: 2`, a second query's weights
    /// and sums sit `queryStride` floats after the first's, over the same rows: each row is
    /// widened once for both.
    public static func accumulate(values: UnsafeRawPointer, rowBytes: Int, rows: UnsafePointer<Int32>, count c: Int, n: Int,
                                  weights: UnsafePointer<Float>, stride: Int, group: Int, acc: UnsafeMutablePointer<Float>,
                                  floats: Bool = false, queries: Int = 1, queryStride: Int = 0) {
        if floats {
            accumulate(FloatRow.self, values, rowBytes, rows, c, n, weights, stride, group, acc, queries == 2 ? queryStride : nil)
        } else {
            accumulate(HalfRow.self, values, rowBytes, rows, c, n, weights, stride, group, acc, queries == 2 ? queryStride : nil)
        }
    }

    private static func accumulate<F: RowFormat>(_ f: F.Type, _ values: UnsafeRawPointer, _ rowBytes: Int,
                                                 _ rows: UnsafePointer<Int32>, _ c: Int, _ n: Int,
                                                 _ weights: UnsafePointer<Float>, _ stride: Int, _ group: Int,
                                                 _ acc: UnsafeMutablePointer<Float>, _ next: Int?) {
        switch group {
        case 1: accumulate(G1.self, f, values, rowBytes, rows, c, n, weights, stride, acc, next)
        case 2: accumulate(G2.self, f, values, rowBytes, rows, c, n, weights, stride, acc, next)
        case 3: accumulate(G3.self, f, values, rowBytes, rows, c, n, weights, stride, acc, next)
        default: accumulate(G4.self, f, values, rowBytes, rows, c, n, weights, stride, acc, next)
        }
    }

    private static func scores<G: Count>(_ g: G.Type, _ q: UnsafePointer<Float>, _ kt: UnsafePointer<Float>, _ n: Int,
                                         _ keys: Int, _ scale: Float, _ out: UnsafeMutablePointer<Float>, _ stride: Int,
                                         _ next: Int?) {
        if let next {
            scores(g, Two.self, q, kt, n, keys, scale, out, stride, next)
        } else {
            scores(g, One.self, q, kt, n, keys, scale, out, stride, 0)
        }
    }

    private static func scores<G: Count, P: Count>(_: G.Type, _: P.Type, _ q: UnsafePointer<Float>, _ kt: UnsafePointer<Float>,
                                                   _ n: Int, _ keys: Int, _ scale: Float, _ out: UnsafeMutablePointer<Float>,
                                                   _ stride: Int, _ next: Int) {
        let group = G.value, pair = P.value == 2
        let q1 = q + n, q2 = q1 + n, q3 = q2 + n
        let p = q + next, p1 = p + n, p2 = p1 + n, p3 = p2 + n
        // a, b: the first query's heads over keys 0..<16 and 16..<32; c, d: the second's.
        var a0 = F16x(), a1 = F16x(), a2 = F16x(), a3 = F16x()
        var b0 = F16x(), b1 = F16x(), b2 = F16x(), b3 = F16x()
        var c0 = F16x(), c1 = F16x(), c2 = F16x(), c3 = F16x()
        var d0 = F16x(), d1 = F16x(), d2 = F16x(), d3 = F16x()
        var column = kt
        if keys > 16 {
            for d in 0..<n {
                let k0 = load(column), k1 = load(column + 16)
                var w = F16x(repeating: q[d])
                a0.addProduct(w, k0); b0.addProduct(w, k1)
                if group > 1 { w = F16x(repeating: q1[d]); a1.addProduct(w, k0); b1.addProduct(w, k1) }
                if group > 2 { w = F16x(repeating: q2[d]); a2.addProduct(w, k0); b2.addProduct(w, k1) }
                if group > 3 { w = F16x(repeating: q3[d]); a3.addProduct(w, k0); b3.addProduct(w, k1) }
                if pair {
                    w = F16x(repeating: p[d]); c0.addProduct(w, k0); d0.addProduct(w, k1)
                    if group > 1 { w = F16x(repeating: p1[d]); c1.addProduct(w, k0); d1.addProduct(w, k1) }
                    if group > 2 { w = F16x(repeating: p2[d]); c2.addProduct(w, k0); d2.addProduct(w, k1) }
                    if group > 3 { w = F16x(repeating: p3[d]); c3.addProduct(w, k0); d3.addProduct(w, k1) }
                }
                column += run
            }
        } else {
            for d in 0..<n {
                let k0 = load(column)
                a0.addProduct(F16x(repeating: q[d]), k0)
                if group > 1 { a1.addProduct(F16x(repeating: q1[d]), k0) }
                if group > 2 { a2.addProduct(F16x(repeating: q2[d]), k0) }
                if group > 3 { a3.addProduct(F16x(repeating: q3[d]), k0) }
                if pair {
                    c0.addProduct(F16x(repeating: p[d]), k0)
                    if group > 1 { c1.addProduct(F16x(repeating: p1[d]), k0) }
                    if group > 2 { c2.addProduct(F16x(repeating: p2[d]), k0) }
                    if group > 3 { c3.addProduct(F16x(repeating: p3[d]), k0) }
                }
                column += run
            }
        }
        let s = F16x(repeating: scale)
        @inline(__always) func put(_ x: F16x, _ y: F16x, _ o: UnsafeMutablePointer<Float>) {
            store(x * s, o)
            if keys > 16 { store(y * s, o + 16) }
        }
        put(a0, b0, out)
        if group > 1 { put(a1, b1, out + stride) }
        if group > 2 { put(a2, b2, out + 2 * stride) }
        if group > 3 { put(a3, b3, out + 3 * stride) }
        guard pair else { return }
        let o = out + next
        put(c0, d0, o)
        if group > 1 { put(c1, d1, o + stride) }
        if group > 2 { put(c2, d2, o + 2 * stride) }
        if group > 3 { put(c3, d3, o + 3 * stride) }
    }

    private static func accumulate<G: Count, F: RowFormat>(_ g: G.Type, _ f: F.Type, _ values: UnsafeRawPointer,
                                                           _ rowBytes: Int, _ rows: UnsafePointer<Int32>, _ c: Int, _ n: Int,
                                                           _ weights: UnsafePointer<Float>, _ stride: Int,
                                                           _ acc: UnsafeMutablePointer<Float>, _ next: Int?) {
        if let next {
            accumulate(g, Two.self, f, values, rowBytes, rows, c, n, weights, stride, acc, next)
        } else {
            accumulate(g, One.self, f, values, rowBytes, rows, c, n, weights, stride, acc, 0)
        }
    }

    private static func accumulate<G: Count, P: Count, F: RowFormat>(_: G.Type, _: P.Type, _: F.Type,
                                                       _ values: UnsafeRawPointer, _ rowBytes: Int,
                                                       _ rows: UnsafePointer<Int32>, _ c: Int, _ n: Int,
                                                       _ weights: UnsafePointer<Float>, _ stride: Int,
                                                       _ acc: UnsafeMutablePointer<Float>, _ next: Int) {
        let group = G.value, pair = P.value == 2
        let w1 = weights + stride, w2 = w1 + stride, w3 = w2 + stride
        let x0 = weights + next, x1 = x0 + stride, x2 = x1 + stride, x3 = x2 + stride
        let acc1 = acc + n, acc2 = acc1 + n, acc3 = acc2 + n
        let bcc = acc + next, bcc1 = bcc + n, bcc2 = bcc1 + n, bcc3 = bcc2 + n
        var j = 0
        while j < n {
            // s: the first query's sums (head, half of the 32 columns); t: the second's.
            var s00 = load(acc + j), s01 = load(acc + j + 16)
            var s10 = F16x(), s11 = F16x(), s20 = F16x(), s21 = F16x(), s30 = F16x(), s31 = F16x()
            var t00 = F16x(), t01 = F16x(), t10 = F16x(), t11 = F16x()
            var t20 = F16x(), t21 = F16x(), t30 = F16x(), t31 = F16x()
            if group > 1 { s10 = load(acc1 + j); s11 = load(acc1 + j + 16) }
            if group > 2 { s20 = load(acc2 + j); s21 = load(acc2 + j + 16) }
            if group > 3 { s30 = load(acc3 + j); s31 = load(acc3 + j + 16) }
            if pair {
                t00 = load(bcc + j); t01 = load(bcc + j + 16)
                if group > 1 { t10 = load(bcc1 + j); t11 = load(bcc1 + j + 16) }
                if group > 2 { t20 = load(bcc2 + j); t21 = load(bcc2 + j + 16) }
                if group > 3 { t30 = load(bcc3 + j); t31 = load(bcc3 + j + 16) }
            }
            let columns = values + F.bytes &* j
            for u in 0..<c {
                let v = columns + Int(rows[u]) &* rowBytes
                let v0 = F.load16(v), v1 = F.load16(v + 16 &* F.bytes)
                var w = F16x(repeating: weights[u])
                s00.addProduct(w, v0); s01.addProduct(w, v1)
                if group > 1 { w = F16x(repeating: w1[u]); s10.addProduct(w, v0); s11.addProduct(w, v1) }
                if group > 2 { w = F16x(repeating: w2[u]); s20.addProduct(w, v0); s21.addProduct(w, v1) }
                if group > 3 { w = F16x(repeating: w3[u]); s30.addProduct(w, v0); s31.addProduct(w, v1) }
                if pair {
                    w = F16x(repeating: x0[u]); t00.addProduct(w, v0); t01.addProduct(w, v1)
                    if group > 1 { w = F16x(repeating: x1[u]); t10.addProduct(w, v0); t11.addProduct(w, v1) }
                    if group > 2 { w = F16x(repeating: x2[u]); t20.addProduct(w, v0); t21.addProduct(w, v1) }
                    if group > 3 { w = F16x(repeating: x3[u]); t30.addProduct(w, v0); t31.addProduct(w, v1) }
                }
            }
            store(s00, acc + j); store(s01, acc + j + 16)
            if group > 1 { store(s10, acc1 + j); store(s11, acc1 + j + 16) }
            if group > 2 { store(s20, acc2 + j); store(s21, acc2 + j + 16) }
            if group > 3 { store(s30, acc3 + j); store(s31, acc3 + j + 16) }
            if pair {
                store(t00, bcc + j); store(t01, bcc + j + 16)
                if group > 1 { store(t10, bcc1 + j); store(t11, bcc1 + j + 16) }
                if group > 2 { store(t20, bcc2 + j); store(t21, bcc2 + j + 16) }
                if group > 3 { store(t30, bcc3 + j); store(t31, bcc3 + j + 16) }
            }
            j += 32
        }
    }
}

extension WideTiles {
    /// `kt[d * stride + u] = row u's element d` for `m` (at most 32) rows of `n` (a multiple of
    /// 16) f16 values (f32 with `floats`), row `u` at `rows + u * rowBytes`: the keys of a run
    /// transposed for `scores`. Columns `m ..< 16` (`m ..< 32` past 16 rows) are zeroed. Lanes
    /// are only moved (f16 widened exactly), so the floats are the 8 x 8 path's; this one takes
    /// 16 x 16 squares through registers, where that went through memory and a call a square.
    public static func transpose(rows: UnsafeRawPointer, rowBytes: Int, count m: Int, n: Int, floats: Bool,
                                 into kt: UnsafeMutablePointer<Float>, stride: Int) {
        precondition(m <= run && n % 16 == 0, "at most \(run) rows of a multiple of 16 elements")
        if floats {
            transpose(FloatRow.self, rows, rowBytes, m, n, kt, stride)
        } else {
            transpose(HalfRow.self, rows, rowBytes, m, n, kt, stride)
        }
    }

    /// Squares of 16 rows and 16 columns: rows past `m` are zero; four rounds swap the
    /// off-diagonal sub-squares of side 8, 4, 2 and 1.
    private static func transpose<F: RowFormat>(_: F.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ m: Int, _ n: Int,
                                                _ kt: UnsafeMutablePointer<Float>, _ stride: Int) {
        let side8 = swapIndices(8), side4 = swapIndices(4), side2 = swapIndices(2), side1 = swapIndices(1)
        var first = 0
        while first < max(m, 1) {
            let count = min(16, m - first)
            var d = 0
            while d < n {
                let row = rows + (first &* rowBytes &+ d &* F.bytes), column = kt + (d &* stride &+ first)
                let r0 = 0 < count ? F.load16(row + 0 &* rowBytes) : F16x()
                let r1 = 1 < count ? F.load16(row + 1 &* rowBytes) : F16x()
                let r2 = 2 < count ? F.load16(row + 2 &* rowBytes) : F16x()
                let r3 = 3 < count ? F.load16(row + 3 &* rowBytes) : F16x()
                let r4 = 4 < count ? F.load16(row + 4 &* rowBytes) : F16x()
                let r5 = 5 < count ? F.load16(row + 5 &* rowBytes) : F16x()
                let r6 = 6 < count ? F.load16(row + 6 &* rowBytes) : F16x()
                let r7 = 7 < count ? F.load16(row + 7 &* rowBytes) : F16x()
                let r8 = 8 < count ? F.load16(row + 8 &* rowBytes) : F16x()
                let r9 = 9 < count ? F.load16(row + 9 &* rowBytes) : F16x()
                let r10 = 10 < count ? F.load16(row + 10 &* rowBytes) : F16x()
                let r11 = 11 < count ? F.load16(row + 11 &* rowBytes) : F16x()
                let r12 = 12 < count ? F.load16(row + 12 &* rowBytes) : F16x()
                let r13 = 13 < count ? F.load16(row + 13 &* rowBytes) : F16x()
                let r14 = 14 < count ? F.load16(row + 14 &* rowBytes) : F16x()
                let r15 = 15 < count ? F.load16(row + 15 &* rowBytes) : F16x()
                let (s8_0, s8_8) = swap(r0, r8, side8)
                let (s8_1, s8_9) = swap(r1, r9, side8)
                let (s8_2, s8_10) = swap(r2, r10, side8)
                let (s8_3, s8_11) = swap(r3, r11, side8)
                let (s8_4, s8_12) = swap(r4, r12, side8)
                let (s8_5, s8_13) = swap(r5, r13, side8)
                let (s8_6, s8_14) = swap(r6, r14, side8)
                let (s8_7, s8_15) = swap(r7, r15, side8)
                let (s4_0, s4_4) = swap(s8_0, s8_4, side4)
                let (s4_1, s4_5) = swap(s8_1, s8_5, side4)
                let (s4_2, s4_6) = swap(s8_2, s8_6, side4)
                let (s4_3, s4_7) = swap(s8_3, s8_7, side4)
                let (s4_8, s4_12) = swap(s8_8, s8_12, side4)
                let (s4_9, s4_13) = swap(s8_9, s8_13, side4)
                let (s4_10, s4_14) = swap(s8_10, s8_14, side4)
                let (s4_11, s4_15) = swap(s8_11, s8_15, side4)
                let (s2_0, s2_2) = swap(s4_0, s4_2, side2)
                let (s2_1, s2_3) = swap(s4_1, s4_3, side2)
                let (s2_4, s2_6) = swap(s4_4, s4_6, side2)
                let (s2_5, s2_7) = swap(s4_5, s4_7, side2)
                let (s2_8, s2_10) = swap(s4_8, s4_10, side2)
                let (s2_9, s2_11) = swap(s4_9, s4_11, side2)
                let (s2_12, s2_14) = swap(s4_12, s4_14, side2)
                let (s2_13, s2_15) = swap(s4_13, s4_15, side2)
                let (s1_0, s1_1) = swap(s2_0, s2_1, side1)
                let (s1_2, s1_3) = swap(s2_2, s2_3, side1)
                let (s1_4, s1_5) = swap(s2_4, s2_5, side1)
                let (s1_6, s1_7) = swap(s2_6, s2_7, side1)
                let (s1_8, s1_9) = swap(s2_8, s2_9, side1)
                let (s1_10, s1_11) = swap(s2_10, s2_11, side1)
                let (s1_12, s1_13) = swap(s2_12, s2_13, side1)
                let (s1_14, s1_15) = swap(s2_14, s2_15, side1)
                store(s1_0, column + 0 * stride)
                store(s1_1, column + 1 * stride)
                store(s1_2, column + 2 * stride)
                store(s1_3, column + 3 * stride)
                store(s1_4, column + 4 * stride)
                store(s1_5, column + 5 * stride)
                store(s1_6, column + 6 * stride)
                store(s1_7, column + 7 * stride)
                store(s1_8, column + 8 * stride)
                store(s1_9, column + 9 * stride)
                store(s1_10, column + 10 * stride)
                store(s1_11, column + 11 * stride)
                store(s1_12, column + 12 * stride)
                store(s1_13, column + 13 * stride)
                store(s1_14, column + 14 * stride)
                store(s1_15, column + 15 * stride)
                d += 16
            }
            first += 16
        }
    }

    /// Rows `a` and `b` (`side` apart in a square) with their off-diagonal sub-squares of side
    /// `side` swapped: `a` keeps its first `side` of each `2 * side` and takes `b`'s first
    /// `side` after them; `b` gets the second ones of both (`vpermt2ps`).
    @inline(__always)
    private static func swap(_ a: F16x, _ b: F16x, _ indices: (SIMD8<Int64>, SIMD8<Int64>)) -> (F16x, F16x) {
        (_mm512_permutex2var_ps(a, indices.0, b), _mm512_permutex2var_ps(a, indices.1, b))
    }

    /// `swap`'s indices for sub-squares of side `side` (16 and up: the second register).
    private static func swapIndices(_ side: Int) -> (SIMD8<Int64>, SIMD8<Int64>) {
        var low = SIMD16<Int32>(), high = SIMD16<Int32>()
        for p in 0..<16 {
            let inside = p % (2 * side) < side
            low[p] = Int32(inside ? p : 16 + p - side)
            high[p] = Int32(inside ? p + side : 16 + p)
        }
        return (unsafeBitCast(low, to: SIMD8<Int64>.self), unsafeBitCast(high, to: SIMD8<Int64>.self))
    }

    /// The exponential step of the tiled softmax over one run of 32 scores: `s[u] = e^(s[u] -
    /// shift)` and `lanes[l] += e(l) + e(l + 16)`, lane for lane the 8-float step's operations
    /// (`exp8` and its lane sums in `FastAttentionJob.absorbRun`), so the same bits.
    public static func exponentials(_ s: UnsafeMutablePointer<Float>, shift: Float, lanes: UnsafeMutablePointer<Float>) {
        let m = F16x(repeating: shift)
        let e0 = exp16(load(s) - m), e1 = exp16(load(s + 16) - m)
        store(e0, s)
        store(e1, s + 16)
        store(load(lanes) + e0 + e1, lanes)
    }

    /// `exp8` (Models/HalfKernels.swift) over sixteen lanes: the same operations in the same order.
    @inline(__always) fileprivate static func exp16(_ x: F16x) -> F16x {
        let lo = F16x(repeating: -87)
        let xc = x.replacing(with: lo, where: x .< lo)
        let magic = F16x(repeating: 12_582_912)
        let t = xc * 1.442_695_04 + magic
        let n = t - magic
        var r = xc - n * 0.693_145_751_953_125
        r = r - n * 1.428_606_765_330_187_045e-6
        var p = F16x(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let bits = (unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        let e = p * unsafeBitCast(bits, to: F16x.self)
        return e.replacing(with: 0, where: x .< lo)
    }
}

private typealias F16x = SIMD16<Float>

/// A count fixed per specialization: heads per KV head, or queries per pass.
private protocol Count { static var value: Int { get } }
private enum G1: Count { static var value: Int { 1 } }
private enum G2: Count { static var value: Int { 2 } }
private enum G3: Count { static var value: Int { 3 } }
private enum G4: Count { static var value: Int { 4 } }
/// How value rows are stored: sixteen elements widened to f32 at once, and an element's bytes.
private protocol RowFormat {
    static var bytes: Int { get }
    static func load16(_ p: UnsafeRawPointer) -> F16x
}
private enum HalfRow: RowFormat {
    static var bytes: Int { 2 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> F16x { loadHalf(p) }
}
private enum FloatRow: RowFormat {
    static var bytes: Int { 4 }
    @inline(__always) static func load16(_ p: UnsafeRawPointer) -> F16x { p.loadUnaligned(as: F16x.self) }
}
/// Queries per pass.
private enum One: Count { static var value: Int { 1 } }
private enum Two: Count { static var value: Int { 2 } }

@inline(__always) private func load(_ p: UnsafePointer<Float>) -> F16x {
    UnsafeRawPointer(p).loadUnaligned(as: F16x.self)
}

@inline(__always) private func store(_ v: F16x, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16x.self)
}

/// Sixteen f16 values widened (one `vcvtph2ps`).
@inline(__always) private func loadHalf(_ p: UnsafeRawPointer) -> F16x {
    let h = p.loadUnaligned(as: SIMD16<Float16>.self)
    var f = F16x()
    for l in 0..<16 { f[l] = Float(h[l]) }
    return f
}
#endif
