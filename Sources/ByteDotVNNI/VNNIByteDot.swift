#if arch(x86_64)
import _Builtin_intrinsics.intel
import CPrefetch

/// The 32-element block formats these kernels take.
public enum VNNIBlockType: Sendable {
    case q4_0, q4_1, q5_0, q8_0
    /// Interleaved only (`VNNIInterleaved`).
    case q4_K, q6_K
}

/// One token's 8-bit activations with each 32-element block's scale and scaled sum (Q8_1's
/// term that Q4_1's minimums are multiplied with).
public struct VNNIToken {
    public let qs: UnsafePointer<Int8>
    public let scales: UnsafePointer<Float>
    public let scaledSums: UnsafePointer<Float>
    /// Each block's sum of quants (the interleaved kernels need them; the row-major ones not).
    public let sums: UnsafePointer<Int32>?
    /// Each 16-element sub-block's sum of quants (likewise).
    public let sums16: UnsafePointer<Int32>?

    public init(qs: UnsafePointer<Int8>, scales: UnsafePointer<Float>, scaledSums: UnsafePointer<Float>,
                sums: UnsafePointer<Int32>? = nil, sums16: UnsafePointer<Int32>? = nil) {
        self.qs = qs
        self.scales = scales
        self.scaledSums = scaledSums
        self.sums = sums
        self.sums16 = sums16
    }
}

/// Weight rows times up to four tokens' activations on CPUs with AVX-512 VNNI: `vpdpbusd`
/// sums four byte products per lane in one instruction where AVX2 needs `pmaddubsw` and
/// `pmaddwd`, and two tokens share one 512-bit register, so a block costs half the
/// instructions per token. The integer lanes are the same numbers, and every float step is the
/// AVX2 kernels' (`ByteDot` in TensorFormats): each block's lanes converted, scaled by the
/// weight's d times the token's scale (one product, rounded once), added by one fused
/// multiply-add per lane in block order, lanes summed as a tree. So the outputs are the same
/// bits.
///
/// The weights go in unsigned (`vpdpbusd` multiplies unsigned by signed bytes) and each
/// format's offset comes out through the accumulator's start value, -offset · Σ activations
/// per lane, taken once per token and block (`Prepared`) instead of a sign step per row and
/// token; the start value also carries `Magic`, which turns the lanes into floats with one
/// subtraction. Rows go in pairs, sharing each block's activations, start values and scales,
/// and the weights are prefetched a pair of rows ahead.
///
/// Compiled with AVX-512 flags: call only when the CPU has AVX-512 F, BW, VL and VNNI.
public enum VNNIByteDot {
    /// For each row `r` in `rows` and token `t < count`: `y[t * yTokenStride + r * yStride]` =
    /// row `r` (at `base + r * rowBytes`, `blocks` blocks of `type`) · token `t`.
    public static func rows(_ type: VNNIBlockType, base: UnsafeRawPointer, rowBytes: Int, rows: Range<Int>, blocks: Int,
                            tokens: UnsafePointer<VNNIToken>, count: Int,
                            y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int) {
        precondition(1...4 ~= count, "1 to 4 tokens at a time, not \(count)")
        switch type {
        case .q4_0: run(Q4_0.self, base, rowBytes, rows, blocks, tokens, count, y, yStride, yTokenStride)
        case .q4_1: run(Q4_1.self, base, rowBytes, rows, blocks, tokens, count, y, yStride, yTokenStride)
        case .q5_0: run(Q5_0.self, base, rowBytes, rows, blocks, tokens, count, y, yStride, yTokenStride)
        case .q8_0: run(Q8_0.self, base, rowBytes, rows, blocks, tokens, count, y, yStride, yTokenStride)
        case .q4_K, .q6_K: preconditionFailure("no row-major VNNI kernel for K-quants")
        }
    }

    private static func run<F: BlockFormat>(_ f: F.Type, _ base: UnsafeRawPointer, _ rowBytes: Int, _ rows: Range<Int>,
                                            _ blocks: Int, _ tokens: UnsafePointer<VNNIToken>, _ count: Int,
                                            _ y: UnsafeMutablePointer<Float>, _ yStride: Int, _ yTokenStride: Int) {
        Prepared.with(F.self, tokens: tokens, count: count, blocks: blocks) { prepared in
            let job = Job(base: base, rowBytes: rowBytes, blocks: blocks, prepared: prepared, count: count,
                          y: y, yStride: yStride, yTokenStride: yTokenStride)
            if count > 2 { job.run(F.self, P2.self, rows: rows) } else { job.run(F.self, P1.self, rows: rows) }
        }
    }
}

typealias Bytes = SIMD4<Int64>
typealias Bytes2 = SIMD8<Int64>

/// A compile-time count: of token pairs, or of rows per pass.
protocol Count { static var value: Int { get } }
enum P1: Count { static var value: Int { 1 } }
enum P2: Count { static var value: Int { 2 } }

struct Job {
    let base: UnsafeRawPointer
    let rowBytes: Int
    let blocks: Int
    let prepared: Prepared
    let count: Int
    let y: UnsafeMutablePointer<Float>
    let yStride: Int
    let yTokenStride: Int
    /// The weights are prefetched as one stream, the next pair of rows (plus this lead) ahead
    /// of the pair being read, two cache lines per block: without it the two interleaved row
    /// streams ran from DRAM at half the one-token kernel's rate, and a fixed distance ahead
    /// of each row left the second row's loads waiting (Gemma's Q8_0 output matrix, two
    /// threads: 3.0-3.3 s without, 1.85-2.1 s a KiB ahead of each row, 1.4-1.6 s as a stream).
    static let prefetchLead = 1024

    func run<F: BlockFormat, P: Count>(_ f: F.Type, _ p: P.Type, rows: Range<Int>) {
        var r = rows.lowerBound
        while r + 2 <= rows.upperBound {
            pass(F.self, P.self, P2.self, row: r)
            r += 2
        }
        if r < rows.upperBound { pass(F.self, P.self, P1.self, row: r) }
    }

    /// Rows `row..<row + R.value` times the tokens, `P.value` pairs of them.
    @inline(__always)
    private func pass<F: BlockFormat, P: Count, R: Count>(_ f: F.Type, _ p: P.Type, _ r: R.Type, row: Int) {
        let wa = base + row &* rowBytes, wb = base + (row &+ R.value &- 1) &* rowBytes
        var a = Accumulators<P>(), b = Accumulators<P>()
        var minA = SIMD4<Float>(), minB = SIMD4<Float>()
        for blk in 0..<blocks {
            let block = prepared.block(blk)
            let ahead = wa + (2 &* rowBytes &+ Self.prefetchLead &+ 2 &* F.blockBytes &* blk)
            rdic_prefetch(ahead)
            rdic_prefetch(ahead + 64)
            let ba = wa + F.blockBytes &* blk
            a.add(F.self, F.unsigned(ba), F.d4(ba) * block.scales4, block)
            if F.hasMin { minA = _mm_fmadd_ps(F.minimum(ba), block.scaledSums, minA) }
            if R.value > 1 {
                let bb = wb + F.blockBytes &* blk
                b.add(F.self, F.unsigned(bb), F.d4(bb) * block.scales4, block)
                if F.hasMin { minB = _mm_fmadd_ps(F.minimum(bb), block.scaledSums, minB) }
            }
        }
        let totalsA = a.totals, totalsB = b.totals
        let outA = F.hasMin ? totalsA + minA : totalsA, outB = F.hasMin ? totalsB + minB : totalsB
        for t in 0..<count {
            y[t &* yTokenStride &+ row &* yStride] = outA[t]
            if R.value > 1 { y[t &* yTokenStride &+ (row &+ 1) &* yStride] = outB[t] }
        }
    }
}

/// One row's accumulators: token 2p in the low eight lanes of `acc[p]`, token 2p + 1 in the
/// high eight.
struct Accumulators<P: Count> {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()

    /// This block's integer lanes for every token (weights `u`, the tokens' activations and
    /// start values in `block`), converted, scaled by token t's `products[t]` (the weight's d
    /// times its scale, taken for the four tokens in one multiply and spread to each token's
    /// eight lanes by a permute, off the multipliers), added lane by lane.
    @inline(__always) mutating func add<F: BlockFormat>(_ f: F.Type, _ u: Bytes2, _ products: SIMD4<Float>, _ block: PreparedBlock) {
        let p = _mm512_castps128_ps512(products)
        @inline(__always) func step(_ acc: inout SIMD16<Float>, _ pair: Int) {
            let lanes = _mm512_dpbusd_epi32(block.start(pair), u, block.activations(pair))
            let sums = unsafeBitCast(lanes, to: SIMD16<Float>.self) - SIMD16(repeating: Magic.value)
            let t = Int32(2 &* pair)
            let spread = unsafeBitCast(SIMD16<Int32>(lowHalf: SIMD8(repeating: t), highHalf: SIMD8(repeating: t &+ 1)), to: Bytes2.self)
            acc = _mm512_fmadd_ps(sums, _mm512_permutexvar_ps(spread, p), acc)
        }
        step(&a0, 0)
        if P.value > 1 { step(&a1, 1) }
    }

    /// Each token's lanes summed as `ByteDot.total` does: halves, then quarters, then the pair
    /// (lane i plus lane i + 4, then i + 2, then i + 1), both tokens of a register at once.
    @inline(__always) var totals: SIMD4<Float> {
        @inline(__always) func fold(_ v: SIMD16<Float>, _ distance: Int32) -> SIMD16<Float> {
            let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            let partner = unsafeBitCast(lanes ^ SIMD16(repeating: distance), to: Bytes2.self)
            return v + _mm512_permutexvar_ps(partner, v)
        }
        @inline(__always) func total(_ v: SIMD16<Float>) -> SIMD16<Float> { fold(fold(fold(v, 4), 2), 1) }
        // Lane 0 of each register's halves: tokens 0 and 1, then 2 and 3.
        let firsts = unsafeBitCast(SIMD16<Int32>(0, 8, 16, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), to: Bytes2.self)
        let pairs = _mm512_permutex2var_ps(total(a0), firsts, P.value > 1 ? total(a1) : SIMD16())
        return _mm512_castps512_ps128(pairs)
    }
}
#endif
