#if arch(x86_64)
import _Builtin_intrinsics.intel
import CPrefetch

/// Weight matrices repacked sixteen rows at a time for `vpdpbusd`, and their products with up
/// to four tokens.
///
/// Row-major blocks make a kernel sum each block's eight integer lanes per row and token: a
/// float step per lane, or a horizontal reduction. Here lane i of every register is row i of
/// a group of sixteen, so a block's eight `vpdpbusd` (four activation bytes broadcast to all
/// lanes each) leave sixteen rows' exact integer block sums, and the float work is one
/// convert, one product and one fused multiply-add per block for sixteen rows. A step of four
/// agents does a quarter of the instructions of the row-major kernels (`VNNIByteDot`).
///
/// Each token's result is the same whatever the other tokens and their count: per block its
/// exact integer sum, times (the weight's d times the token's scale), added by a fused
/// multiply-add in block order; Q4_1's minimums times the token's scaled sums in a second sum
/// the same way; the two sums added at the end. So rows of different sequences decoded in one
/// pass get the floats each gets alone (`InterleavedReference` in TensorFormats spells the arithmetic out). The floats
/// are not those of the AVX2 kernels, whose per-lane float sums round differently; the
/// integer block sums here are exact.
///
/// A group-block (sixteen rows, 32 elements) is 64-byte aligned: the sixteen d (f16), for
/// Q4_1 the sixteen minimums (f16), then the quants from byte 64, as sixteen lanes of four
/// bytes per step k (elements 4k..<4k + 4): Q8_0 one register per step, the byte q + 128;
/// Q4_0, Q4_1 and Q5_0 steps 2j and 2j + 1 as the low and high nibbles of register j (Q5_0's
/// fifth bits after them, a 64-bit byte mask per step). A group's
/// blocks follow one another, then the next group's: the weights are one sequential stream.
/// Rows past the matrix's last in the last group are zero.
///
/// Compiled with AVX-512 flags: call only when the CPU has AVX-512 F, BW, VL and VNNI.
public enum VNNIInterleaved {
    /// Rows per group: the lanes of one 512-bit register of int32.
    public static let groupRows = 16

    /// Bytes of one group-block of `type`.
    public static func groupBlockBytes(_ type: VNNIBlockType) -> Int {
        switch type {
        case .q4_0: Nibbles<NoMin>.groupBlockBytes
        case .q4_1: Nibbles<WithMin>.groupBlockBytes
        case .q5_0: Nibbles5.groupBlockBytes
        case .q8_0: Bytes8.groupBlockBytes
        case .q4_K: Q4KLayout.groupBlockBytes
        case .q6_K: Q6KLayout.groupBlockBytes
        }
    }

    /// Bytes the interleaved copy of a `rows` x `blocks` matrix takes.
    public static func packedBytes(_ type: VNNIBlockType, rows: Int, blocks: Int) -> Int {
        (rows + groupRows - 1) / groupRows * blocks * groupBlockBytes(type)
    }

    /// For each row `r` in `rows` and token `t < count` (1 to 4):
    /// `y[t * yTokenStride + r * yStride]` = row `r` of the interleaved matrix at `packed`
    /// (`blocks` blocks a row) · token `t`.
    public static func rows(_ type: VNNIBlockType, packed: UnsafeRawPointer, blocks: Int, rows: Range<Int>,
                            tokens: UnsafePointer<VNNIToken>, count: Int,
                            y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int) {
        precondition(1...4 ~= count, "1 to 4 tokens at a time, not \(count)")
        guard !rows.isEmpty else { return }
        for t in 0..<count { precondition(tokens[t].sums != nil && tokens[t].sums16 != nil, "the interleaved kernels need the sums") }
        let out = GroupOutput(y: y, yStride: yStride, yTokenStride: yTokenStride)
        let x = FourTokens(tokens, count: count)
        switch type {
        case .q4_0: InterleavedJob<Nibbles<NoMin>>(packed: packed, blocks: blocks, tokens: x, out: out).run(count: count, rows: rows)
        case .q4_1: InterleavedJob<Nibbles<WithMin>>(packed: packed, blocks: blocks, tokens: x, out: out).run(count: count, rows: rows)
        case .q5_0: InterleavedJob<Nibbles5>(packed: packed, blocks: blocks, tokens: x, out: out).run(count: count, rows: rows)
        case .q8_0: InterleavedJob<Bytes8>(packed: packed, blocks: blocks, tokens: x, out: out).run(count: count, rows: rows)
        case .q4_K: InterleavedQ4KJob(packed: packed, blocks: blocks, tokens: x, out: out).run(count: count, rows: rows)
        case .q6_K: InterleavedQ6KJob(packed: packed, blocks: blocks, tokens: x, out: out).run(count: count, rows: rows)
        }
    }
}

/// The integer lanes of one step: sixteen rows' four unsigned bytes.
typealias Lanes = SIMD8<Int64>

/// A block format as the interleaved kernel reads it.
protocol InterleavedFormat {
    /// Bytes of one group-block.
    static var groupBlockBytes: Int { get }
    /// What is subtracted from the stored unsigned quants.
    static var offset: Int32 { get }
    /// Whether minimums follow the scales.
    static var hasMin: Bool { get }
    /// Calls `body(k, lanes)` for the eight steps of the group-block whose quants start at `q`.
    static func steps(_ q: UnsafeRawPointer, _ body: (Int, Lanes) -> Void)
}

protocol MinimumFlag { static var value: Bool { get } }
enum NoMin: MinimumFlag { static var value: Bool { false } }
enum WithMin: MinimumFlag { static var value: Bool { true } }

/// Q4_0 (offset 8) or Q4_1 (minimums): register j's low nibbles are step 2j, its high ones 2j + 1.
enum Nibbles<M: MinimumFlag>: InterleavedFormat {
    static var groupBlockBytes: Int { 320 }
    static var offset: Int32 { M.value ? 0 : 8 }
    static var hasMin: Bool { M.value }
    @inline(__always) static func steps(_ q: UnsafeRawPointer, _ body: (Int, Lanes) -> Void) {
        let mask = _mm512_set1_epi8(0x0F)
        for j in 0..<4 {
            let raw = q.load(fromByteOffset: 64 &* j, as: Lanes.self)
            body(2 &* j, _mm512_and_si512(raw, mask))
            body(2 &* j &+ 1, _mm512_and_si512(_mm512_srli_epi16(raw, 4), mask))
        }
    }
}

/// Q5_0 (offset 16): Q4_0's nibbles, plus 16 in the bytes whose fifth bit is set (the step's
/// 64-bit mask after the nibbles).
enum Nibbles5: InterleavedFormat {
    static var groupBlockBytes: Int { 384 }
    static var offset: Int32 { 16 }
    static var hasMin: Bool { false }
    @inline(__always) static func steps(_ q: UnsafeRawPointer, _ body: (Int, Lanes) -> Void) {
        let sixteen = _mm512_set1_epi8(16)
        Nibbles<NoMin>.steps(q) { k, u in
            let high = q.load(fromByteOffset: 256 &+ 8 &* k, as: UInt64.self)
            body(k, _mm512_mask_add_epi8(u, high, u, sixteen))
        }
    }
}

/// Q8_0: one register per step, each byte q + 128.
enum Bytes8: InterleavedFormat {
    static var groupBlockBytes: Int { 576 }
    static var offset: Int32 { 128 }
    static var hasMin: Bool { false }
    @inline(__always) static func steps(_ q: UnsafeRawPointer, _ body: (Int, Lanes) -> Void) {
        for k in 0..<8 { body(k, q.load(fromByteOffset: 64 &* k, as: Lanes.self)) }
    }
}

enum T1: Count { static var value: Int { 1 } }
enum T2: Count { static var value: Int { 2 } }
enum T3: Count { static var value: Int { 3 } }
enum T4: Count { static var value: Int { 4 } }

/// Sixteen rows at a time, for one to four tokens: the interleaved kernels' common frame.
protocol GroupKernel {
    /// Group `g`'s sixteen rows times `T.value` tokens; outputs of rows in `rows` are written.
    func group<T: Count>(_ t: T.Type, _ g: Int, _ rows: Range<Int>)
}

extension GroupKernel {
    func run(count: Int, rows: Range<Int>) {
        let first = rows.lowerBound / VNNIInterleaved.groupRows, last = (rows.upperBound - 1) / VNNIInterleaved.groupRows
        for g in first...last {
            switch count {
            case 1: group(T1.self, g, rows)
            case 2: group(T2.self, g, rows)
            case 3: group(T3.self, g, rows)
            default: group(T4.self, g, rows)
            }
        }
    }
}

/// Up to four tokens held by value: the kernels read activations, sums and scales straight
/// from them (a token past the count repeats the first; it is never read).
struct FourTokens {
    let x: (VNNIToken, VNNIToken, VNNIToken, VNNIToken)

    @inline(__always) init(_ tokens: UnsafePointer<VNNIToken>, count: Int) {
        x = (tokens[0], tokens[count > 1 ? 1 : 0], tokens[count > 2 ? 2 : 0], tokens[count > 3 ? 3 : 0])
    }

    @inline(__always) func token(_ t: Int) -> VNNIToken { t == 0 ? x.0 : t == 1 ? x.1 : t == 2 ? x.2 : x.3 }

    /// Token t's four quants at element `at`, in every lane.
    @inline(__always) func bytes(_ t: Int, _ at: Int) -> Lanes {
        _mm512_set1_epi32(UnsafeRawPointer(token(t).qs).loadUnaligned(fromByteOffset: at, as: Int32.self))
    }
}

/// Where a group's outputs go: token t's row r at `y[t * yTokenStride + r * yStride]`.
struct GroupOutput {
    let y: UnsafeMutablePointer<Float>
    let yStride: Int
    let yTokenStride: Int

    /// Group `g`'s sixteen outputs `v` for token `t`, the rows of it inside `rows`.
    @inline(__always) func store(_ v: SIMD16<Float>, token t: Int, group g: Int, rows: Range<Int>) {
        let row0 = g &* VNNIInterleaved.groupRows
        let lo = max(rows.lowerBound, row0), hi = min(rows.upperBound, row0 &+ VNNIInterleaved.groupRows)
        let yt = y + t &* yTokenStride
        if yStride == 1 {
            let mask = UInt16(truncatingIfNeeded: (1 &<< (hi &- row0)) &- (1 &<< (lo &- row0)))
            _mm512_mask_storeu_ps(yt + row0, mask, v)
        } else {
            for r in lo..<hi { yt[r &* yStride] = v[r &- row0] }
        }
    }
}

/// The 32-element block formats' kernel.
struct InterleavedJob<F: InterleavedFormat>: GroupKernel {
    let packed: UnsafeRawPointer
    let blocks: Int
    let tokens: FourTokens
    let out: GroupOutput

    @inline(__always)
    func group<T: Count>(_ t: T.Type, _ g: Int, _ rows: Range<Int>) {
        // Each block's chains start at -offset · Σ quants: the format's offset comes out there.
        @inline(__always) func start(_ b: Int, _ t: Int) -> Lanes {
            F.offset == 0 ? Lanes() : _mm512_set1_epi32(-F.offset &* tokens.token(t).sums![b])
        }
        @inline(__always) func activations(_ b: Int, _ t: Int, _ k: Int) -> Lanes { tokens.bytes(t, 32 &* b &+ 4 &* k) }
        var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        var mins = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        let groupBase = packed + g &* blocks &* F.groupBlockBytes
        for b in 0..<blocks {
            let blk = groupBase + b &* F.groupBlockBytes
            rdic_prefetch_stream(blk, F.groupBlockBytes)
            // Two chains per token (even and odd steps): integer sums are exact in any order.
            var s = (start(b, 0), Lanes(), T.value > 1 ? start(b, 1) : Lanes(), Lanes(),
                     T.value > 2 ? start(b, 2) : Lanes(), Lanes(), T.value > 3 ? start(b, 3) : Lanes(), Lanes())
            F.steps(blk + 64) { k, u in
                if k & 1 == 0 {
                    s.0 = _mm512_dpbusd_epi32(s.0, u, activations(b, 0, k))
                    if T.value > 1 { s.2 = _mm512_dpbusd_epi32(s.2, u, activations(b, 1, k)) }
                    if T.value > 2 { s.4 = _mm512_dpbusd_epi32(s.4, u, activations(b, 2, k)) }
                    if T.value > 3 { s.6 = _mm512_dpbusd_epi32(s.6, u, activations(b, 3, k)) }
                } else {
                    s.1 = _mm512_dpbusd_epi32(s.1, u, activations(b, 0, k))
                    if T.value > 1 { s.3 = _mm512_dpbusd_epi32(s.3, u, activations(b, 1, k)) }
                    if T.value > 2 { s.5 = _mm512_dpbusd_epi32(s.5, u, activations(b, 2, k)) }
                    if T.value > 3 { s.7 = _mm512_dpbusd_epi32(s.7, u, activations(b, 3, k)) }
                }
            }
            let d = _mm512_cvtph_ps(blk.load(as: Bytes.self))
            let m = F.hasMin ? _mm512_cvtph_ps(blk.load(fromByteOffset: 32, as: Bytes.self)) : SIMD16<Float>()
            @inline(__always) func finish(_ a: Lanes, _ b2: Lanes, _ t: Int, _ acc: inout SIMD16<Float>, _ mins: inout SIMD16<Float>) {
                let sum = _mm512_cvtepi32_ps(_mm512_add_epi32(a, b2))
                let token = tokens.token(t)
                acc = _mm512_fmadd_ps(sum, d * SIMD16(repeating: token.scales[b]), acc)
                if F.hasMin { mins = _mm512_fmadd_ps(m, SIMD16(repeating: token.scaledSums[b]), mins) }
            }
            finish(s.0, s.1, 0, &acc.0, &mins.0)
            if T.value > 1 { finish(s.2, s.3, 1, &acc.1, &mins.1) }
            if T.value > 2 { finish(s.4, s.5, 2, &acc.2, &mins.2) }
            if T.value > 3 { finish(s.6, s.7, 3, &acc.3, &mins.3) }
        }
        @inline(__always) func store(_ v: SIMD16<Float>, _ t: Int) { out.store(v, token: t, group: g, rows: rows) }
        store(F.hasMin ? acc.0 + mins.0 : acc.0, 0)
        if T.value > 1 { store(F.hasMin ? acc.1 + mins.1 : acc.1, 1) }
        if T.value > 2 { store(F.hasMin ? acc.2 + mins.2 : acc.2, 2) }
        if T.value > 3 { store(F.hasMin ? acc.3 + mins.3 : acc.3, 3) }
    }
}
#endif
