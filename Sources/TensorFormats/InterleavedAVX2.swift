#if arch(x86_64)
import _Builtin_intrinsics.intel
import ByteDotVNNI
import CPrefetch

/// `VNNIInterleaved`'s products on the AVX2 baseline (the K-quants' kernels are in
/// `InterleavedAVX2K.swift`): a group's sixteen lanes are read as two halves of eight rows,
/// `pmaddubsw` and `pmaddwd` in place of `vpdpbusd`.
///
/// The row-major AVX2 kernels turn every block of every row into floats (a convert, a product
/// and a fused multiply-add per row and token) and are bound by that chain; here one convert
/// and one fused multiply-add serve eight rows. The integer block sums are exact: a
/// `pmaddubsw` pair is at most 2 · 31 · 128 in magnitude, so Q4_0/Q4_1 pairs are summed over
/// the whole block and Q5_0's over half of it in 16 bits before widening, and Q8_0 multiplies
/// magnitudes by sign-carrying activations. The float steps are the VNNI kernels' lane for
/// lane, so a token gets the same bits on either CPU, alone or beside others
/// (`InterleavedReference`).
enum InterleavedAVX2 {
    typealias Bytes = SIMD4<Int64>

    /// For each row `r` in `rows` and token `t < count` (1 to 4):
    /// `y[t * yTokenStride + r * yStride]` = row `r` of the interleaved copy at `packed` · token `t`.
    static func rows(_ type: VNNIBlockType, packed: UnsafeRawPointer, blocks: Int, rows: Range<Int>,
                     tokens: UnsafePointer<VNNIToken>, count: Int,
                     y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int) {
        precondition(1...4 ~= count, "1 to 4 tokens at a time, not \(count)")
        guard !rows.isEmpty else { return }
        let stream = HalfStream(packed: packed, blocks: blocks, tokens: HalfTokens(tokens, count: count),
                                out: HalfOutput(y: y, yStride: yStride, yTokenStride: yTokenStride, rows: rows))
        @inline(__always) func run<K: HalfKernel>(_: K.Type) {
            let job = K(stream: stream)
            for half in (rows.lowerBound / 8)...((rows.upperBound - 1) / 8) {
                switch count {
                case 1: job.half(C1.self, half)
                case 2: job.half(C2.self, half)
                case 3: job.half(C3.self, half)
                default: job.half(C4.self, half)
                }
            }
        }
        switch type {
        case .q4_0: run(HalfJob<HalfNibbles<HalfNoMin>>.self)
        case .q4_1: run(HalfJob<HalfNibbles<HalfWithMin>>.self)
        case .q5_0: run(HalfJob<HalfNibbles5>.self)
        case .q8_0: run(HalfJob<HalfBytes8>.self)
        case .q4_K: run(HalfQ4KJob.self)
        case .q6_K: run(HalfQ6KJob.self)
        }
    }
}

/// A 32-element format's group-block as eight steps of one half (eight rows) each.
private protocol HalfFormat {
    static var groupBlockBytes: Int { get }
    /// What is subtracted from the stored unsigned quants.
    static var offset: Int32 { get }
    static var hasMin: Bool { get }
    /// Steps whose 16-bit pair sums are added before they are widened.
    static var stepsPerWidening: Int { get }
    /// Whether `steps` hands magnitudes and signs (Q8_0) rather than unsigned quants.
    static var signed: Bool { get }
    /// Calls `body(k, u, q)` for the eight steps of `half` of the group-block whose quants
    /// start at `q`: `u` the eight rows' four unsigned bytes (magnitudes where `signed`, with
    /// `q` the signed quants).
    static func steps(_ q: UnsafeRawPointer, half: Int, _ body: (Int, InterleavedAVX2.Bytes, InterleavedAVX2.Bytes) -> Void)
}

private protocol HalfMinimum { static var value: Bool { get } }
private enum HalfNoMin: HalfMinimum { static var value: Bool { false } }
private enum HalfWithMin: HalfMinimum { static var value: Bool { true } }

/// Q4_0 and Q4_1: register j's low nibbles are step 2j, its high ones 2j + 1.
private enum HalfNibbles<M: HalfMinimum>: HalfFormat {
    static var groupBlockBytes: Int { VNNIInterleaved.groupBlockBytes(M.value ? .q4_1 : .q4_0) }
    static var offset: Int32 { M.value ? 0 : 8 }
    static var hasMin: Bool { M.value }
    static var stepsPerWidening: Int { 8 }
    static var signed: Bool { false }
    @inline(__always) static func steps(_ q: UnsafeRawPointer, half: Int,
                                        _ body: (Int, InterleavedAVX2.Bytes, InterleavedAVX2.Bytes) -> Void) {
        let mask = _mm256_set1_epi8(0x0F)
        for j in 0..<4 {
            let raw = q.load(fromByteOffset: 64 &* j &+ 32 &* half, as: InterleavedAVX2.Bytes.self)
            body(2 &* j, _mm256_and_si256(raw, mask), raw)
            body(2 &* j &+ 1, _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask), raw)
        }
    }
}

/// Q5_0: Q4_0's nibbles plus 16 where the step's fifth-bit mask (bit 4i + c: row i's element
/// 4k + c) is set, the half's 32 bits spread to one byte each.
private enum HalfNibbles5: HalfFormat {
    static var groupBlockBytes: Int { VNNIInterleaved.groupBlockBytes(.q5_0) }
    static var offset: Int32 { 16 }
    static var hasMin: Bool { false }
    static var stepsPerWidening: Int { 4 }
    static var signed: Bool { false }
    @inline(__always) static func steps(_ q: UnsafeRawPointer, half: Int,
                                        _ body: (Int, InterleavedAVX2.Bytes, InterleavedAVX2.Bytes) -> Void) {
        let sixteen = _mm256_set1_epi8(16)
        // Byte j takes the mask's byte j / 8 (each 128-bit lane holds all four), then bit j % 8.
        let spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                      2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)
        let bit = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128,
                                   1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128)
        HalfNibbles<HalfNoMin>.steps(q, half: half) { k, u, _ in
            let word = q.load(fromByteOffset: 256 &+ 8 &* k &+ 4 &* half, as: Int32.self)
            let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(word), spread)
            let set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit)
            body(k, _mm256_add_epi8(u, _mm256_and_si256(set, sixteen)), u)
        }
    }
}

/// Q8_0: one register per step, each byte q + 128; handed on as |q| and q.
private enum HalfBytes8: HalfFormat {
    static var groupBlockBytes: Int { VNNIInterleaved.groupBlockBytes(.q8_0) }
    static var offset: Int32 { 0 }
    static var hasMin: Bool { false }
    static var stepsPerWidening: Int { 1 }
    static var signed: Bool { true }
    @inline(__always) static func steps(_ q: UnsafeRawPointer, half: Int,
                                        _ body: (Int, InterleavedAVX2.Bytes, InterleavedAVX2.Bytes) -> Void) {
        let flip = _mm256_set1_epi8(-128)
        for k in 0..<8 {
            let signedQuants = _mm256_xor_si256(q.load(fromByteOffset: 64 &* k &+ 32 &* half, as: InterleavedAVX2.Bytes.self), flip)
            body(k, _mm256_abs_epi8(signedQuants), signedQuants)
        }
    }
}

/// Up to four tokens held by value (a token past the count repeats the first; never read).
struct HalfTokens {
    let x: (VNNIToken, VNNIToken, VNNIToken, VNNIToken)

    @inline(__always) init(_ tokens: UnsafePointer<VNNIToken>, count: Int) {
        x = (tokens[0], tokens[count > 1 ? 1 : 0], tokens[count > 2 ? 2 : 0], tokens[count > 3 ? 3 : 0])
    }

    @inline(__always) func token(_ t: Int) -> VNNIToken { t == 0 ? x.0 : t == 1 ? x.1 : t == 2 ? x.2 : x.3 }

    /// Token t's four quants at element `at`, in every lane.
    @inline(__always) func bytes(_ t: Int, _ at: Int) -> InterleavedAVX2.Bytes {
        _mm256_set1_epi32(UnsafeRawPointer(token(t).qs).loadUnaligned(fromByteOffset: at, as: Int32.self))
    }
}

/// Where a half's eight outputs go: token t's row r at `y[t * yTokenStride + r * yStride]`,
/// for rows in `rows` only.
struct HalfOutput {
    let y: UnsafeMutablePointer<Float>
    let yStride: Int
    let yTokenStride: Int
    let rows: Range<Int>

    @inline(__always) func store(_ v: SIMD8<Float>, token t: Int, half h: Int) {
        let row0 = 8 &* h
        let lo = max(rows.lowerBound, row0), hi = min(rows.upperBound, row0 &+ 8)
        let yt = y + t &* yTokenStride
        if yStride == 1 && lo == row0 && hi == row0 &+ 8 {
            UnsafeMutableRawPointer(yt + row0).storeBytes(of: v, as: SIMD8<Float>.self)
        } else {
            for r in lo..<hi { yt[r &* yStride] = v[r &- row0] }
        }
    }
}

/// Eight rows (half `h % 2` of group `h / 2`) times one to four tokens.
protocol HalfKernel {
    init(stream: HalfStream)
    func half<T: Count>(_: T.Type, _ h: Int)
}

/// What every half kernel reads and writes: the copy (`blocks` group-blocks a group), the
/// tokens, the outputs.
struct HalfStream {
    let packed: UnsafeRawPointer
    let blocks: Int
    let tokens: HalfTokens
    let out: HalfOutput

    /// Half `h`'s first group-block (of `size` bytes) and which half of its lanes it is.
    @inline(__always) func start(half h: Int, groupBlockBytes size: Int) -> (UnsafeRawPointer, side: Int) {
        (packed + (h >> 1) &* blocks &* size, h & 1)
    }
}

/// Eight bytes at `p` in the low half of a register.
@inline(__always) func eightBytes(_ p: UnsafeRawPointer) -> SIMD2<Int64> { SIMD2(p.loadUnaligned(as: Int64.self), 0) }

/// Eight bytes from `p`, one per lane, widened to 32 bits (`signed`: sign-extended), repeated in
/// both 16-bit halves: a `pmaddwd` operand multiplying a lane's pair of 16-bit sums by it.
@inline(__always) func pairedBytes(_ p: UnsafeRawPointer, signed: Bool = false) -> InterleavedAVX2.Bytes {
    let v = signed ? _mm256_cvtepi8_epi32(eightBytes(p)) : _mm256_cvtepu8_epi32(eightBytes(p))
    return _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(v, 16))
}

private struct HalfJob<F: HalfFormat>: HalfKernel {
    let stream: HalfStream

    @inline(__always)
    func half<T: Count>(_: T.Type, _ h: Int) {
        typealias Bytes = InterleavedAVX2.Bytes
        let (groupBase, side) = stream.start(half: h, groupBlockBytes: F.groupBlockBytes)
        let blocks = stream.blocks, tokens = stream.tokens, out = stream.out
        let ones = _mm256_set1_epi16(1)
        // Each block's integer sums start at -offset · Σ quants: the format's offset comes out there.
        @inline(__always) func start(_ b: Int, _ t: Int) -> Bytes {
            F.offset == 0 ? Bytes() : _mm256_set1_epi32(-F.offset &* tokens.token(t).sums![b])
        }
        @inline(__always) func product(_ u: Bytes, _ q: Bytes, _ b: Int, _ t: Int, _ k: Int) -> Bytes {
            let x = tokens.bytes(t, 32 &* b &+ 4 &* k)
            return _mm256_maddubs_epi16(u, F.signed ? _mm256_sign_epi8(x, q) : x)
        }
        var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        for b in 0..<blocks {
            let blk = groupBase + b &* F.groupBlockBytes
            if side == 0 { rdic_prefetch_stream(blk, F.groupBlockBytes) }
            var s = (start(b, 0), T.value > 1 ? start(b, 1) : Bytes(), T.value > 2 ? start(b, 2) : Bytes(),
                     T.value > 3 ? start(b, 3) : Bytes())
            var p = (Bytes(), Bytes(), Bytes(), Bytes())
            F.steps(blk + 64, half: side) { k, u, q in
                p.0 = _mm256_add_epi16(p.0, product(u, q, b, 0, k))
                if T.value > 1 { p.1 = _mm256_add_epi16(p.1, product(u, q, b, 1, k)) }
                if T.value > 2 { p.2 = _mm256_add_epi16(p.2, product(u, q, b, 2, k)) }
                if T.value > 3 { p.3 = _mm256_add_epi16(p.3, product(u, q, b, 3, k)) }
                if (k &+ 1) % F.stepsPerWidening == 0 {
                    s.0 = _mm256_add_epi32(s.0, _mm256_madd_epi16(p.0, ones))
                    if T.value > 1 { s.1 = _mm256_add_epi32(s.1, _mm256_madd_epi16(p.1, ones)) }
                    if T.value > 2 { s.2 = _mm256_add_epi32(s.2, _mm256_madd_epi16(p.2, ones)) }
                    if T.value > 3 { s.3 = _mm256_add_epi32(s.3, _mm256_madd_epi16(p.3, ones)) }
                    p = (Bytes(), Bytes(), Bytes(), Bytes())
                }
            }
            let d = _mm256_cvtph_ps(blk.load(fromByteOffset: 16 &* side, as: SIMD2<Int64>.self))
            @inline(__always) func add(_ sum: Bytes, _ t: Int, _ acc: inout SIMD8<Float>) {
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), d * SIMD8(repeating: tokens.token(t).scales[b]), acc)
            }
            add(s.0, 0, &acc.0)
            if T.value > 1 { add(s.1, 1, &acc.1) }
            if T.value > 2 { add(s.2, 2, &acc.2) }
            if T.value > 3 { add(s.3, 3, &acc.3) }
        }
        if F.hasMin {
            // Q4_1's minimums times each token's scaled sums, a second sum in block order.
            var mins = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            for b in 0..<blocks {
                let m = _mm256_cvtph_ps(groupBase.load(fromByteOffset: b &* F.groupBlockBytes &+ 32 &+ 16 &* side,
                                                       as: SIMD2<Int64>.self))
                @inline(__always) func add(_ t: Int, _ sum: inout SIMD8<Float>) {
                    sum = _mm256_fmadd_ps(m, SIMD8(repeating: tokens.token(t).scaledSums[b]), sum)
                }
                add(0, &mins.0)
                if T.value > 1 { add(1, &mins.1) }
                if T.value > 2 { add(2, &mins.2) }
                if T.value > 3 { add(3, &mins.3) }
            }
            acc = (acc.0 + mins.0, acc.1 + mins.1, acc.2 + mins.2, acc.3 + mins.3)
        }
        out.store(acc.0, token: 0, half: h)
        if T.value > 1 { out.store(acc.1, token: 1, half: h) }
        if T.value > 2 { out.store(acc.2, token: 2, half: h) }
        if T.value > 3 { out.store(acc.3, token: 3, half: h) }
    }
}
#endif
