import TensorFormats

/// Cache-blocked matrix x matrix product for prefill: `y[t][r] = Σ_k x[t][k] · W[r][k]`, on
/// f32 panels. The portable path: on x86-64, weight types with an unsigned form go through
/// `IntegerGemm` instead.
///
/// A batch of many tokens multiplies every weight row many times, so it pays to decode the
/// quantized weights once and reuse them: each thread takes panels of `panelRows` rows,
/// decodes a panel to f32 laid out column by column (`panel[k][0..<16]`, 16 rows side by
/// side, so one column is two 8-lane vectors), and then streams all the tokens past it, six at
/// a time, in a register-blocked 6 x 16 kernel of fused multiply-adds (12 accumulators). The
/// panel (16 x cols x 4 bytes, 40-128 KiB here) stays in L1/L2 while all the tokens use it.
///
/// The activations are first rounded exactly as the one-token path rounds them (quantized to
/// Q8_0 or Q8_K and back, `MatmulInput.expandedActivations`), so every product equals llama.cpp's and
/// only the order of the float sums differs. (Plain f32 activations moved Gemma's log-probs
/// past the reference tests' tolerance.)
enum Gemm {
    static let panelRows = 16
    static let tokenTile = 6
    /// Batches at least this large use `Gemm` (or `IntegerGemm`); smaller ones the quantized
    /// dot kernels, whose per-block sums follow llama.cpp's lanes and order. Short prompts keep
    /// that reference-matched path on purpose: `IntegerGemm` from 12 tokens was measured
    /// 1.2-1.7x faster at 12-16 tokens, but it moved Gemma's agreement with llama.cpp's greedy
    /// runs (mean |delta log-prob| 0.123 -> 0.130, one top-1 flip), the float summation order
    /// alone being enough at this noise floor.
    static let minTokens = 32

    /// Floats of per-thread scratch for a matrix of `cols` columns.
    static func scratchFloats(cols: Int) -> Int {
        let blocks = cols / 32
        return panelRows * cols + cols + cols / 4 + 2 * blocks + panelRows * blocks + 16
    }

    /// Whether the weights' minimums are kept out of the panel: llama.cpp multiplies those of
    /// Q4_1 and Q5_1 with Q8_1's f16 sum of each activation block, not with the exact sum a
    /// decoded row would give, so they are added separately (`addMinimums`).
    @inline(__always) static func separatesMinimums(_ type: GGMLType) -> Bool { type == .q4_1 || type == .q5_1 }

    /// Decodes rows `r0..<r0+count` (count <= 16) of `w` into `panel` as `panel[k * 16 + i]`,
    /// zero for the missing rows of a last, partial panel; with separate minimums, these go to
    /// `mins[b * 16 + i]`.
    @inline(__always)
    static func pack(_ w: WeightMatrix, rows r0: Int, count: Int, panel: UnsafeMutablePointer<Float>,
                     row tmp: UnsafeMutablePointer<Float>, mins: UnsafeMutablePointer<Float>) {
        let cols = w.cols, blocks = cols / 32
        let separate = separatesMinimums(w.type)
        if count < panelRows {
            panel.update(repeating: 0, count: panelRows * cols)
            if separate { mins.update(repeating: 0, count: panelRows * blocks) }
        }
        for i in 0..<count {
            if separate {
                let scales = tmp + cols, rowMins = scales + blocks
                let bytes = UnsafeMutableRawPointer(rowMins + blocks).assumingMemoryBound(to: UInt8.self)
                decodeUnsigned(w.type, from: w.row(r0 + i), count: cols, u: bytes, scales: scales, mins: rowMins)
                for k in 0..<cols { tmp[k] = scales[k / 32] * Float(bytes[k]) }
                for b in 0..<blocks { mins[b * panelRows + i] = -rowMins[b] }
            } else {
                w.decodeRow(r0 + i, into: tmp)
            }
            var p = panel + i
            for k in 0..<cols {
                p.pointee = tmp[k]
                p += panelRows
            }
        }
    }

    /// y[t][0..<16] += Σ_b mins[b][0..<16] · sums[t][b]: the minimums' term for every token.
    static func addMinimums(_ mins: UnsafePointer<Float>, blocks: Int, activations a: QuantizedActivations, n: Int,
                            _ y: UnsafeMutablePointer<Float>, yStride: Int, rows: Int) {
        for t in 0..<n {
            let s = a.minSums(row: t)
            var lo = SIMD8<Float>(), hi = SIMD8<Float>()
            for b in 0..<blocks {
                let m = UnsafeRawPointer(mins + b * panelRows)
                lo.addProduct(m.loadUnaligned(as: SIMD8<Float>.self), SIMD8(repeating: s[b]))
                hi.addProduct(m.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), SIMD8(repeating: s[b]))
            }
            let out = y + t * yStride
            for i in 0..<min(rows, 8) { out[i] += lo[i] }
            if rows > 8 { for i in 8..<rows { out[i] += hi[i - 8] } }
        }
    }

    /// y[t][0..<16] (t < 6) = Σ_k x[t][k] · panel[k][0..<16], for six tokens `xStride` apart.
    @inline(__always)
    static func kernel6(_ panel: UnsafePointer<Float>, cols: Int, _ x: UnsafePointer<Float>, xStride: Int,
                        _ y: UnsafeMutablePointer<Float>, yStride: Int, rows: Int) {
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
        var a40 = SIMD8<Float>(), a41 = SIMD8<Float>(), a50 = SIMD8<Float>(), a51 = SIMD8<Float>()
        let x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride, x4 = x + 4 * xStride
        let x5 = x + 5 * xStride
        var p = UnsafeRawPointer(panel)
        for k in 0..<cols {
            let w0 = p.loadUnaligned(as: SIMD8<Float>.self)
            let w1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            var b = SIMD8<Float>(repeating: x0[k])
            a00.addProduct(w0, b); a01.addProduct(w1, b)
            b = SIMD8<Float>(repeating: x1[k])
            a10.addProduct(w0, b); a11.addProduct(w1, b)
            b = SIMD8<Float>(repeating: x2[k])
            a20.addProduct(w0, b); a21.addProduct(w1, b)
            b = SIMD8<Float>(repeating: x3[k])
            a30.addProduct(w0, b); a31.addProduct(w1, b)
            b = SIMD8<Float>(repeating: x4[k])
            a40.addProduct(w0, b); a41.addProduct(w1, b)
            b = SIMD8<Float>(repeating: x5[k])
            a50.addProduct(w0, b); a51.addProduct(w1, b)
            p += 64
        }
        store(a00, a01, y, rows)
        store(a10, a11, y + yStride, rows)
        store(a20, a21, y + 2 * yStride, rows)
        store(a30, a31, y + 3 * yStride, rows)
        store(a40, a41, y + 4 * yStride, rows)
        store(a50, a51, y + 5 * yStride, rows)
    }

    /// One token: y[0..<16] = Σ_k x[k] · panel[k][0..<16].
    @inline(__always)
    static func kernel1(_ panel: UnsafePointer<Float>, cols: Int, _ x: UnsafePointer<Float>,
                        _ y: UnsafeMutablePointer<Float>, rows: Int) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var p = UnsafeRawPointer(panel)
        for k in 0..<cols {
            let b = SIMD8<Float>(repeating: x[k])
            a0.addProduct(p.loadUnaligned(as: SIMD8<Float>.self), b)
            a1.addProduct(p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), b)
            p += 64
        }
        store(a0, a1, y, rows)
    }

    @inline(__always)
    static func store(_ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ y: UnsafeMutablePointer<Float>, _ rows: Int) {
        if rows == 16 {
            UnsafeMutableRawPointer(y).storeBytes(of: lo, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + 8).storeBytes(of: hi, as: SIMD8<Float>.self)
        } else {
            for i in 0..<min(rows, 8) { y[i] = lo[i] }
            if rows > 8 { for i in 8..<rows { y[i] = hi[i - 8] } }
        }
    }

    /// Rows `r0..<r0+count` of `w` times all `n` tokens of `x` (`cols` apart) into `y`;
    /// `activations` are the quantized rows `x` was expanded from.
    static func panel(_ w: WeightMatrix, rows r0: Int, count: Int, x: UnsafePointer<Float>, activations: QuantizedActivations,
                      n: Int, y: UnsafeMutablePointer<Float>, yStride: Int, scratch: UnsafeMutablePointer<Float>) {
        let cols = w.cols
        let panel = scratch, mins = scratch + panelRows * cols, tmp = mins + panelRows * (cols / 32)
        pack(w, rows: r0, count: count, panel: panel, row: tmp, mins: mins)
        defer {
            if separatesMinimums(w.type) {
                addMinimums(mins, blocks: cols / 32, activations: activations, n: n, y + r0, yStride: yStride, rows: count)
            }
        }
        var t = 0
        while t + tokenTile <= n {
            kernel6(panel, cols: cols, x + t * cols, xStride: cols, y + t * yStride + r0, yStride: yStride, rows: count)
            t += tokenTile
        }
        while t < n {
            kernel1(panel, cols: cols, x + t * cols, y + t * yStride + r0, rows: count)
            t += 1
        }
    }
}

extension WeightMatrix {
    /// Runs `body(r0, count, scratch)` for every panel of `panelRows` rows in `rowRange`, the
    /// panels split across the pool.
    @inline(__always)
    private func forEachPanel(of panelRows: Int, in rowRange: Range<Int>, pool: ThreadPool, scratch: Scratch,
                              _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let panels = (rowRange.count + panelRows - 1) / panelRows
        pool.parallelFor(panels) { chunk, worker in
            let buf = scratch.buffer(worker)
            for p in chunk {
                let r0 = rowRange.lowerBound + p * panelRows
                body(r0, min(panelRows, rowRange.upperBound - r0), buf)
            }
        }
    }

    /// `y[t][r - rowRange.lowerBound] = dot(row r, x[t])` for `n` f32 token rows, through
    /// `Gemm`'s decoded panels.
    func multiplyBatch(_ x: UnsafePointer<Float>, activations: QuantizedActivations, n: Int, into y: UnsafeMutablePointer<Float>,
                       yStride: Int, rowRange: Range<Int>, pool: ThreadPool, scratch: Scratch) {
        let out = y - rowRange.lowerBound
        forEachPanel(of: Gemm.panelRows, in: rowRange, pool: pool, scratch: scratch) { r0, count, buf in
            Gemm.panel(self, rows: r0, count: count, x: x, activations: activations, n: n, y: out, yStride: yStride,
                       scratch: buf)
        }
    }

    #if arch(x86_64)
    /// `y[t][r - rowRange.lowerBound] = dot(row r, x[t])` through `IntegerGemm`.
    func multiplyBatch(_ a: ByteActivations, n: Int, into y: UnsafeMutablePointer<Float>, yStride: Int,
                       rowRange: Range<Int>, pool: ThreadPool, scratch: Scratch) {
        let out = y - rowRange.lowerBound
        forEachPanel(of: IntegerGemm.panelRows, in: rowRange, pool: pool, scratch: scratch) { r0, count, buf in
            IntegerGemm.panel(type, weights: base, rowBytes: rowBytes, cols: cols, rows: r0, count: count, a: a, n: n,
                              y: out, yStride: yStride, scratch: buf)
        }
    }
    #endif
}
