#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The 32-element block formats these kernels take.
public enum VNNIBlockType: Sendable {
    case q4_0, q4_1, q5_0, q8_0
}

/// One token's 8-bit activations with each 32-element block's scale and scaled sum (Q8_1's
/// term that Q4_1's minimums are multiplied with).
public struct VNNIToken {
    public let qs: UnsafePointer<Int8>
    public let scales: UnsafePointer<Float>
    public let scaledSums: UnsafePointer<Float>

    public init(qs: UnsafePointer<Int8>, scales: UnsafePointer<Float>, scaledSums: UnsafePointer<Float>) {
        self.qs = qs
        self.scales = scales
        self.scaledSums = scaledSums
    }
}

/// Weight rows times up to four tokens' activations on CPUs with AVX-512 VNNI: `vpdpbusd`
/// sums four byte products per lane in one instruction where AVX2 needs `pmaddubsw` and
/// `pmaddwd`. The integer lanes are the same numbers, and every float step is the AVX2
/// kernels' (`ByteDot` in TensorFormats): each block's lanes converted, scaled by the weight's d
/// times the token's scale (one product, rounded once), added by one fused multiply-add per
/// lane in block order, lanes summed as a tree. So the outputs are the same bits.
///
/// What is saved besides the multiply: the d-times-scale products are taken eight blocks at a
/// time into a small table (the AVX2 kernel multiplies in all eight lanes per block and token),
/// and rows go in pairs, so eight independent accumulators hide the fused multiply-add's latency
/// (each token's chain of adds must stay in block order).
///
/// Compiled with AVX-512 flags: call only when the CPU has AVX-512 F, BW, VL and VNNI.
public enum VNNIByteDot {
    /// For each row `r` in `rows` and token `t < count`: `y[t * yTokenStride + r * yStride]` =
    /// row `r` (at `base + r * rowBytes`, `blocks` blocks of `type`) · token `t`.
    public static func rows(_ type: VNNIBlockType, base: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, blocks: Int,
                            tokens: UnsafePointer<VNNIToken>, count: Int,
                            y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int) {
        precondition(1...4 ~= count, "1 to 4 tokens at a time, not \(count)")
        let job = Job(base: base, rowBytes: rowBytes, blocks: blocks, tokens: tokens, count: count,
                      y: y, yStride: yStride, yTokenStride: yTokenStride)
        switch type {
        case .q4_0: job.run(Q4_0.self, rows: rows)
        case .q4_1: job.run(Q4_1.self, rows: rows)
        case .q5_0: job.run(Q5_0.self, rows: rows)
        case .q8_0: job.run(Q8_0.self, rows: rows)
        }
    }
}

typealias Bytes = SIMD4<Int64>

/// Blocks per table chunk: the d-times-scale products of two rows and four tokens (2 KiB).
let chunk = 64

protocol Count { static var value: Int { get } }
enum C1: Count { static var value: Int { 1 } }
enum C2: Count { static var value: Int { 2 } }
enum C3: Count { static var value: Int { 3 } }
enum C4: Count { static var value: Int { 4 } }

struct Job {
    let base: UnsafeRawPointer
    let rowBytes: Int
    let blocks: Int
    let tokens: UnsafePointer<VNNIToken>
    let count: Int
    let y: UnsafeMutablePointer<Float>
    let yStride: Int
    let yTokenStride: Int

    func run<F: BlockFormat>(_ f: F.Type, rows: Range<Int>) {
        switch count {
        case 1: run(F.self, C1.self, rows: rows)
        case 2: run(F.self, C2.self, rows: rows)
        case 3: run(F.self, C3.self, rows: rows)
        default: run(F.self, C4.self, rows: rows)
        }
    }

    private func run<F: BlockFormat, K: Count>(_ f: F.Type, _ k: K.Type, rows: Range<Int>) {
        let last = count - 1
        let ts = (tokens[0], tokens[min(1, last)], tokens[min(2, last)], tokens[min(3, last)])
        // Each block's four scaled sums side by side, for the minimums' fused multiply-adds.
        withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: F.hasMin ? blocks : 0) { sums in
            if F.hasMin {
                for b in 0..<blocks {
                    sums[b] = SIMD4(ts.0.scaledSums[b], ts.1.scaledSums[b], ts.2.scaledSums[b], ts.3.scaledSums[b])
                }
            }
            let minSums = UnsafePointer(sums.baseAddress)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 10 * chunk) { table in
                let t = table.baseAddress!
                var r = rows.lowerBound
                while r + 2 <= rows.upperBound {
                    pass(F.self, K.self, C2.self, row: r, tokens: ts, table: t, minSums: minSums)
                    r += 2
                }
                if r < rows.upperBound { pass(F.self, K.self, C1.self, row: r, tokens: ts, table: t, minSums: minSums) }
            }
        }
    }

    /// Rows `row..<row + R.value` times the `K.value` tokens. `table` holds, per chunk, the
    /// products of row i and token t at `(4i + t) * chunk` and row i's minimums at `(8 + i) * chunk`.
    @inline(__always)
    private func pass<F: BlockFormat, K: Count, R: Count>(
        _ f: F.Type, _ k: K.Type, _ r: R.Type, row: Int, tokens ts: (VNNIToken, VNNIToken, VNNIToken, VNNIToken),
        table: UnsafeMutablePointer<Float>, minSums: UnsafePointer<SIMD4<Float>>?
    ) {
        let wa = base + row * rowBytes, wb = base + (row + R.value - 1) * rowBytes
        var a = Accumulators<K>(), b = Accumulators<K>()
        var minA = SIMD4<Float>(), minB = SIMD4<Float>()
        var start = 0
        while start < blocks {
            let n = min(chunk, blocks - start)
            fillTable(F.self, K.self, R.self, wa, wb, start: start, count: n, tokens: ts, table: table)
            for i in 0..<n {
                let blk = start &+ i
                let x = (ts.0.qs + 32 &* blk, ts.1.qs + 32 &* blk, ts.2.qs + 32 &* blk, ts.3.qs + 32 &* blk)
                let weightsA = F.unpack(wa + F.blockBytes &* blk)
                a.add(F.self, weightsA, x, table + i)
                if F.hasMin {
                    minA = _mm_fmadd_ps(SIMD4(repeating: table[8 &* chunk &+ i]), minSums![blk], minA)
                }
                if R.value > 1 {
                    let weightsB = F.unpack(wb + F.blockBytes &* blk)
                    b.add(F.self, weightsB, x, table + (4 &* chunk &+ i))
                    if F.hasMin {
                        minB = _mm_fmadd_ps(SIMD4(repeating: table[9 &* chunk &+ i]), minSums![blk], minB)
                    }
                }
            }
            start += n
        }
        let totalsA = a.totals, totalsB = b.totals
        let outA = F.hasMin ? totalsA + minA : totalsA, outB = F.hasMin ? totalsB + minB : totalsB
        for t in 0..<K.value {
            y[t &* yTokenStride &+ row &* yStride] = outA[t]
            if R.value > 1 { y[t &* yTokenStride &+ (row &+ 1) &* yStride] = outB[t] }
        }
    }

    /// The products d · scale of blocks `start..<start + count` for each row and token, and
    /// the rows' minimums as floats, eight blocks at a time.
    @inline(__always)
    private func fillTable<F: BlockFormat, K: Count, R: Count>(
        _ f: F.Type, _ k: K.Type, _ r: R.Type, _ wa: UnsafeRawPointer, _ wb: UnsafeRawPointer, start: Int, count: Int,
        tokens ts: (VNNIToken, VNNIToken, VNNIToken, VNNIToken), table: UnsafeMutablePointer<Float>
    ) {
        var g = 0
        while g < count {
            let n = min(8, count - g)
            let mask = UInt8(truncatingIfNeeded: (1 << n) - 1)
            let b = start + g
            let s0 = _mm256_maskz_loadu_ps(mask, ts.0.scales + b)
            let s1 = K.value > 1 ? _mm256_maskz_loadu_ps(mask, ts.1.scales + b) : s0
            let s2 = K.value > 2 ? _mm256_maskz_loadu_ps(mask, ts.2.scales + b) : s0
            let s3 = K.value > 3 ? _mm256_maskz_loadu_ps(mask, ts.3.scales + b) : s0
            for i in 0..<R.value {
                let w = (i == 0 ? wa : wb) + F.blockBytes &* b
                let d = halves(w, stride: F.blockBytes, offset: 0, n)
                let row = table + (4 &* chunk &* i &+ g)
                store(d * s0, row)
                if K.value > 1 { store(d * s1, row + chunk) }
                if K.value > 2 { store(d * s2, row + 2 &* chunk) }
                if K.value > 3 { store(d * s3, row + 3 &* chunk) }
                if F.hasMin { store(halves(w, stride: F.blockBytes, offset: 2, n), table + ((8 &+ i) &* chunk &+ g)) }
            }
            g += 8
        }
    }
}

@inline(__always) func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// The f16 field at `offset` of `n` (1...8) blocks `stride` bytes apart, as floats (exact);
/// lanes past `n` repeat the last block.
@inline(__always) func halves(_ p: UnsafeRawPointer, stride: Int, offset: Int, _ n: Int) -> SIMD8<Float> {
    var h = SIMD8<UInt16>()
    if n == 8 {
        for i in 0..<8 { h[i] = p.loadUnaligned(fromByteOffset: i &* stride &+ offset, as: UInt16.self) }
    } else {
        for i in 0..<8 { h[i] = p.loadUnaligned(fromByteOffset: min(i, n &- 1) &* stride &+ offset, as: UInt16.self) }
    }
    return _mm256_cvtph_ps(unsafeBitCast(h, to: SIMD2<Int64>.self))
}

/// One row's accumulator per token.
struct Accumulators<K: Count> {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()

    /// Token t's integer lanes with this block's weights, converted and scaled by its product
    /// at `products[t * chunk]`, added lane by lane.
    @inline(__always) mutating func add<F: BlockFormat>(
        _ f: F.Type, _ w: Weights, _ x: (UnsafePointer<Int8>, UnsafePointer<Int8>, UnsafePointer<Int8>, UnsafePointer<Int8>),
        _ products: UnsafePointer<Float>
    ) {
        @inline(__always) func step(_ acc: inout SIMD8<Float>, _ x: UnsafePointer<Int8>, _ p: Float) {
            let lanes = F.products(w, UnsafeRawPointer(x).loadUnaligned(as: Bytes.self))
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), SIMD8(repeating: p), acc)
        }
        step(&a0, x.0, products[0])
        if K.value > 1 { step(&a1, x.1, products[chunk]) }
        if K.value > 2 { step(&a2, x.2, products[2 &* chunk]) }
        if K.value > 3 { step(&a3, x.3, products[3 &* chunk]) }
    }

    /// Each token's lanes summed as `ByteDot.total` does: halves, then quarters, then the pair.
    @inline(__always) var totals: SIMD4<Float> {
        @inline(__always) func total(_ v: SIMD8<Float>) -> Float {
            let h = v.lowHalf + v.highHalf
            let q = h.lowHalf + h.highHalf
            return q[0] + q[1]
        }
        return SIMD4(total(a0), K.value > 1 ? total(a1) : 0, K.value > 2 ? total(a2) : 0, K.value > 3 ? total(a3) : 0)
    }
}

/// A block's 32 weights as `vpdpbusd` takes them: unsigned bytes `u`, and for signed quants
/// the quants `q` whose signs move onto the activations.
struct Weights {
    let u: Bytes
    let q: Bytes
}

protocol BlockFormat {
    static var blockBytes: Int { get }
    /// Whether the blocks carry a minimum (an f16 at offset 2) times the scaled sums.
    static var hasMin: Bool { get }
    static func unpack(_ blk: UnsafeRawPointer) -> Weights
    /// The 8 lanes of 4 products each of the weights with 32 activations `x`.
    static func products(_ w: Weights, _ x: Bytes) -> Bytes
}

extension BlockFormat {
    static var hasMin: Bool { false }

    /// Signed quants: |q| times the activations with q's sign (as AVX2's kernels do, so the
    /// lanes are the same sums).
    @inline(__always) static func products(_ w: Weights, _ x: Bytes) -> Bytes {
        _mm256_mask_dpbusd_epi32(Bytes(), 0xFF, w.u, _mm256_sign_epi8(x, w.q))
    }

    /// Signed quants `q` (|q| <= 128) as magnitude and sign source.
    @inline(__always) static func signed(_ q: Bytes) -> Weights { Weights(u: _mm256_abs_epi8(q), q: q) }
}

/// The 32 nibbles of 16 bytes as bytes: low nibbles are elements 0-15, high ones 16-31.
@inline(__always) func nibbles(_ p: UnsafeRawPointer) -> Bytes {
    let q = p.loadUnaligned(as: SIMD2<Int64>.self)
    let mask = _mm_set1_epi8(0x0F)
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), mask), _mm_and_si128(q, mask))
}

enum Q8_0: BlockFormat {
    static var blockBytes: Int { 34 }
    @inline(__always) static func unpack(_ blk: UnsafeRawPointer) -> Weights {
        signed(blk.loadUnaligned(fromByteOffset: 2, as: Bytes.self))
    }
}

enum Q4_0: BlockFormat {
    static var blockBytes: Int { 18 }
    @inline(__always) static func unpack(_ blk: UnsafeRawPointer) -> Weights {
        signed(_mm256_sub_epi8(nibbles(blk + 2), _mm256_set1_epi8(8)))
    }
}

enum Q5_0: BlockFormat {
    static var blockBytes: Int { 22 }
    /// Nibble plus 16 times the fifth bit, minus 16: the nibble where the bit is set, the
    /// nibble minus 16 where it is not (one masked subtraction with the 32 bits as the mask).
    @inline(__always) static func unpack(_ blk: UnsafeRawPointer) -> Weights {
        let low = nibbles(blk + 6)
        let high = blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        return signed(_mm256_mask_sub_epi8(low, ~high, low, _mm256_set1_epi8(16)))
    }
}

enum Q4_1: BlockFormat {
    static var blockBytes: Int { 20 }
    static var hasMin: Bool { true }
    @inline(__always) static func unpack(_ blk: UnsafeRawPointer) -> Weights {
        let u = nibbles(blk + 4)
        return Weights(u: u, q: u)
    }
    @inline(__always) static func products(_ w: Weights, _ x: Bytes) -> Bytes {
        _mm256_mask_dpbusd_epi32(Bytes(), 0xFF, w.u, x)
    }
}
#endif
