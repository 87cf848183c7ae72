#if arch(x86_64)
/// The two inner loops of the tiled f16 attention (`FastF16AttentionJob.runTile`) over 16-float
/// registers, for CPUs with AVX-512.
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
    public static func scores(q: UnsafePointer<Float>, group: Int, kt: UnsafePointer<Float>, n: Int, keys: Int,
                              scale: Float, out: UnsafeMutablePointer<Float>, stride: Int) {
        switch group {
        case 1: scores(G1.self, q, kt, n, keys, scale, out, stride)
        case 2: scores(G2.self, q, kt, n, keys, scale, out, stride)
        case 3: scores(G3.self, q, kt, n, keys, scale, out, stride)
        default: scores(G4.self, q, kt, n, keys, scale, out, stride)
        }
    }

    /// `acc[h][j] += Σ_u weights[h * stride + u] · value(rows[u])[j]` for the `group` (1...4)
    /// heads, rows taken in order, `n` (a multiple of 32) f16 values a row, row `r` at
    /// `values + r * rowBytes`.
    public static func accumulate(values: UnsafeRawPointer, rowBytes: Int, rows: UnsafePointer<Int32>, count c: Int, n: Int,
                                  weights: UnsafePointer<Float>, stride: Int, group: Int, acc: UnsafeMutablePointer<Float>) {
        switch group {
        case 1: accumulate(G1.self, values, rowBytes, rows, c, n, weights, stride, acc)
        case 2: accumulate(G2.self, values, rowBytes, rows, c, n, weights, stride, acc)
        case 3: accumulate(G3.self, values, rowBytes, rows, c, n, weights, stride, acc)
        default: accumulate(G4.self, values, rowBytes, rows, c, n, weights, stride, acc)
        }
    }

    private static func scores<G: Group>(_: G.Type, _ q: UnsafePointer<Float>, _ kt: UnsafePointer<Float>, _ n: Int,
                                         _ keys: Int, _ scale: Float, _ out: UnsafeMutablePointer<Float>, _ stride: Int) {
        let group = G.value
        let q1 = q + n, q2 = q1 + n, q3 = q2 + n
        var a0 = F16x(), a1 = F16x(), a2 = F16x(), a3 = F16x()
        var b0 = F16x(), b1 = F16x(), b2 = F16x(), b3 = F16x()
        var column = kt
        if keys > 16 {
            for d in 0..<n {
                let k0 = load(column), k1 = load(column + 16)
                var w = F16x(repeating: q[d])
                a0.addProduct(w, k0); b0.addProduct(w, k1)
                if group > 1 { w = F16x(repeating: q1[d]); a1.addProduct(w, k0); b1.addProduct(w, k1) }
                if group > 2 { w = F16x(repeating: q2[d]); a2.addProduct(w, k0); b2.addProduct(w, k1) }
                if group > 3 { w = F16x(repeating: q3[d]); a3.addProduct(w, k0); b3.addProduct(w, k1) }
                column += run
            }
        } else {
            for d in 0..<n {
                let k0 = load(column)
                a0.addProduct(F16x(repeating: q[d]), k0)
                if group > 1 { a1.addProduct(F16x(repeating: q1[d]), k0) }
                if group > 2 { a2.addProduct(F16x(repeating: q2[d]), k0) }
                if group > 3 { a3.addProduct(F16x(repeating: q3[d]), k0) }
                column += run
            }
        }
        let s = F16x(repeating: scale)
        store(a0 * s, out)
        if group > 1 { store(a1 * s, out + stride) }
        if group > 2 { store(a2 * s, out + 2 * stride) }
        if group > 3 { store(a3 * s, out + 3 * stride) }
        guard keys > 16 else { return }
        store(b0 * s, out + 16)
        if group > 1 { store(b1 * s, out + stride + 16) }
        if group > 2 { store(b2 * s, out + 2 * stride + 16) }
        if group > 3 { store(b3 * s, out + 3 * stride + 16) }
    }

    private static func accumulate<G: Group>(_: G.Type, _ values: UnsafeRawPointer, _ rowBytes: Int,
                                             _ rows: UnsafePointer<Int32>, _ c: Int, _ n: Int,
                                             _ weights: UnsafePointer<Float>, _ stride: Int,
                                             _ acc: UnsafeMutablePointer<Float>) {
        let group = G.value
        let w1 = weights + stride, w2 = w1 + stride, w3 = w2 + stride
        let acc1 = acc + n, acc2 = acc1 + n, acc3 = acc2 + n
        var j = 0
        while j < n {
            var s00 = load(acc + j), s01 = load(acc + j + 16)
            var s10 = F16x(), s11 = F16x(), s20 = F16x(), s21 = F16x(), s30 = F16x(), s31 = F16x()
            if group > 1 { s10 = load(acc1 + j); s11 = load(acc1 + j + 16) }
            if group > 2 { s20 = load(acc2 + j); s21 = load(acc2 + j + 16) }
            if group > 3 { s30 = load(acc3 + j); s31 = load(acc3 + j + 16) }
            let columns = values + 2 &* j
            for u in 0..<c {
                let v = columns + Int(rows[u]) &* rowBytes
                let v0 = loadHalf(v), v1 = loadHalf(v + 32)
                var w = F16x(repeating: weights[u])
                s00.addProduct(w, v0); s01.addProduct(w, v1)
                if group > 1 { w = F16x(repeating: w1[u]); s10.addProduct(w, v0); s11.addProduct(w, v1) }
                if group > 2 { w = F16x(repeating: w2[u]); s20.addProduct(w, v0); s21.addProduct(w, v1) }
                if group > 3 { w = F16x(repeating: w3[u]); s30.addProduct(w, v0); s31.addProduct(w, v1) }
            }
            store(s00, acc + j); store(s01, acc + j + 16)
            if group > 1 { store(s10, acc1 + j); store(s11, acc1 + j + 16) }
            if group > 2 { store(s20, acc2 + j); store(s21, acc2 + j + 16) }
            if group > 3 { store(s30, acc3 + j); store(s31, acc3 + j + 16) }
            j += 32
        }
    }
}

extension WideTiles {
    /// The exponential step of the tiled softmax over one run of 32 scores: `s[u] = e^(s[u] -
    /// shift)` and `lanes[l] += e(l) + e(l + 16)`, lane for lane the 8-float step's operations
    /// (`exp8` and its lane sums in `FastF16AttentionJob.absorbRun`), so the same bits.
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

private protocol Group { static var value: Int { get } }
private enum G1: Group { static var value: Int { 1 } }
private enum G2: Group { static var value: Int { 2 } }
private enum G3: Group { static var value: Int { 3 } }
private enum G4: Group { static var value: Int { 4 } }

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
