#if arch(x86_64)
import _Builtin_intrinsics.intel
import CPrefetch

/// Q4_K in the interleaved layout (see `VNNIInterleaved`): sixteen rows per group, one
/// 256-element super-block at a time.
///
/// A group-super-block is the sixteen d and the sixteen dmin (f16), each sub-block's sixteen
/// 6-bit scales and then mins as bytes (sub-block j's at 64 + 16j and 192 + 16j), and from byte
/// 320 the quants as the file has them, transposed: register 8c + k holds, in lane i, bytes
/// 32c + 4k ..< +4 of row i's 128, whose low nibbles are sub-block 2c's elements 4k..<4k+4 and
/// high nibbles sub-block 2c+1's.
///
/// Per token and super-block the row's sums are exact integers: S = Σ_j scale_j · Σ q·x over
/// sub-block j, M = Σ_j min_j · Σ x over it. Then, in block order, S times (d times the token's
/// scale) is added to one sum and M times (dmin times the token's scale) to another by fused
/// multiply-adds; the result is the first sum minus the second (`InterleavedReference.referenceQ4K`).
public enum Q4KLayout {
    public static let groupBlockBytes = 2368
    public static let scales = 64, mins = 192, quants = 320
}

/// The Q4_K kernel over groups of sixteen rows for `T.value` tokens.
struct InterleavedQ4KJob: GroupKernel {
    let packed: UnsafeRawPointer
    let blocks: Int
    let tokens: FourTokens
    let out: GroupOutput

    @inline(__always)
    func group<T: Count>(_ t: T.Type, _ g: Int, _ rows: Range<Int>) {
        @inline(__always) func token(_ t: Int) -> VNNIToken { tokens.token(t) }
        @inline(__always) func bytes(_ t: Int, _ at: Int) -> Lanes { tokens.bytes(t, at) }
        var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        var mins = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        let size = Q4KLayout.groupBlockBytes
        let groupBase = packed + g &* blocks &* size
        let mask = _mm512_set1_epi8(0x0F)
        for b in 0..<blocks {
            let blk = groupBase + b &* size
            rdic_prefetch_stream(blk, size)
            var s = (Lanes(), Lanes(), Lanes(), Lanes())
            for c in 0..<4 {
                var lo = (Lanes(), Lanes(), Lanes(), Lanes()), hi = (Lanes(), Lanes(), Lanes(), Lanes())
                for k in 0..<8 {
                    let raw = blk.load(fromByteOffset: Q4KLayout.quants &+ 64 &* (8 &* c &+ k), as: Lanes.self)
                    let l = _mm512_and_si512(raw, mask), h = _mm512_and_si512(_mm512_srli_epi16(raw, 4), mask)
                    let at = 256 &* b &+ 64 &* c &+ 4 &* k
                    lo.0 = _mm512_dpbusd_epi32(lo.0, l, bytes(0, at)); hi.0 = _mm512_dpbusd_epi32(hi.0, h, bytes(0, at &+ 32))
                    if T.value > 1 { lo.1 = _mm512_dpbusd_epi32(lo.1, l, bytes(1, at)); hi.1 = _mm512_dpbusd_epi32(hi.1, h, bytes(1, at &+ 32)) }
                    if T.value > 2 { lo.2 = _mm512_dpbusd_epi32(lo.2, l, bytes(2, at)); hi.2 = _mm512_dpbusd_epi32(hi.2, h, bytes(2, at &+ 32)) }
                    if T.value > 3 { lo.3 = _mm512_dpbusd_epi32(lo.3, l, bytes(3, at)); hi.3 = _mm512_dpbusd_epi32(hi.3, h, bytes(3, at &+ 32)) }
                }
                let scLo = _mm512_cvtepu8_epi32(blk.load(fromByteOffset: Q4KLayout.scales &+ 32 &* c, as: SIMD2<Int64>.self))
                let scHi = _mm512_cvtepu8_epi32(blk.load(fromByteOffset: Q4KLayout.scales &+ 32 &* c &+ 16, as: SIMD2<Int64>.self))
                @inline(__always) func scaled(_ s: Lanes, _ l: Lanes, _ h: Lanes) -> Lanes {
                    _mm512_add_epi32(s, _mm512_add_epi32(_mm512_mullo_epi32(l, scLo), _mm512_mullo_epi32(h, scHi)))
                }
                s.0 = scaled(s.0, lo.0, hi.0)
                if T.value > 1 { s.1 = scaled(s.1, lo.1, hi.1) }
                if T.value > 2 { s.2 = scaled(s.2, lo.2, hi.2) }
                if T.value > 3 { s.3 = scaled(s.3, lo.3, hi.3) }
            }
            let d = _mm512_cvtph_ps(blk.load(as: Bytes.self))
            let dmin = _mm512_cvtph_ps(blk.load(fromByteOffset: 32, as: Bytes.self))
            @inline(__always) func finish(_ t: Int, _ s: Lanes, _ acc: inout SIMD16<Float>, _ mins: inout SIMD16<Float>) {
                let tk = token(t)
                var m = Lanes()
                for j in 0..<8 {
                    let mj = _mm512_cvtepu8_epi32(blk.load(fromByteOffset: Q4KLayout.mins &+ 16 &* j, as: SIMD2<Int64>.self))
                    m = _mm512_add_epi32(m, _mm512_mullo_epi32(mj, _mm512_set1_epi32(tk.sums![8 &* b &+ j])))
                }
                let scale = SIMD16<Float>(repeating: tk.scales[8 &* b])
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), d * scale, acc)
                mins = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), dmin * scale, mins)
            }
            finish(0, s.0, &acc.0, &mins.0)
            if T.value > 1 { finish(1, s.1, &acc.1, &mins.1) }
            if T.value > 2 { finish(2, s.2, &acc.2, &mins.2) }
            if T.value > 3 { finish(3, s.3, &acc.3, &mins.3) }
        }
        @inline(__always) func store(_ v: SIMD16<Float>, _ t: Int) { out.store(v, token: t, group: g, rows: rows) }
        store(acc.0 - mins.0, 0)
        if T.value > 1 { store(acc.1 - mins.1, 1) }
        if T.value > 2 { store(acc.2 - mins.2, 2) }
        if T.value > 3 { store(acc.3 - mins.3, 3) }
    }
}

/// Q6_K in the interleaved layout: sixteen rows per group, one 256-element super-block at a
/// time. A group-super-block is the sixteen d (f16), then from byte 64 each 16-element
/// sub-block's sixteen scales (int8), then from byte 320 the file's low-nibble bytes
/// transposed (register 16n + 8h + k holds, in lane i, bytes 64n + 32h + 4k ..< +4 of row i's
/// 128), then from byte 2368 its high-bit bytes (register 8n + k: bytes 32n + 4k ..< +4 of the
/// 64). The quants stay as packed as in the file.
///
/// Per token and super-block S = Σ_s scale_s · Σ (u - 32)·x over sub-block s is an exact
/// integer (the -32 rides in each sub-block's start value, -32 · Σ x); S times (d times the
/// token's scale) is added by a fused multiply-add in block order (`InterleavedReference.referenceQ6K`).
public enum Q6KLayout {
    public static let groupBlockBytes = 3392
    public static let scales = 64, low = 320, high = 2368
}

/// The Q6_K kernel over groups of sixteen rows for `T.value` tokens.
struct InterleavedQ6KJob: GroupKernel {
    let packed: UnsafeRawPointer
    let blocks: Int
    let tokens: FourTokens
    let out: GroupOutput

    /// Four sub-blocks' integer sums for one token.
    struct Quad { var a = Lanes(), b = Lanes(), c = Lanes(), d = Lanes() }

    @inline(__always)
    func group<T: Count>(_ t: T.Type, _ g: Int, _ rows: Range<Int>) {
        @inline(__always) func token(_ t: Int) -> VNNIToken { tokens.token(t) }
        @inline(__always) func bytes(_ t: Int, _ at: Int) -> Lanes { tokens.bytes(t, at) }
        var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        let size = Q6KLayout.groupBlockBytes
        let groupBase = packed + g &* blocks &* size
        let nibble = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30)
        for b in 0..<blocks {
            let blk = groupBase + b &* size
            rdic_prefetch_stream(blk, size)
            var s = (Lanes(), Lanes(), Lanes(), Lanes())
            for n in 0..<2 {
                for m in 0..<2 {
                    // Sub-blocks 8n + m, + 2, + 4, + 6; each starts at -32 · Σ x over it.
                    let sub = 16 &* b &+ 8 &* n &+ m
                    @inline(__always) func start(_ t: Int) -> Quad {
                        let sums = token(t).sums16!
                        return Quad(a: _mm512_set1_epi32(-32 &* sums[sub]), b: _mm512_set1_epi32(-32 &* sums[sub &+ 2]),
                                    c: _mm512_set1_epi32(-32 &* sums[sub &+ 4]), d: _mm512_set1_epi32(-32 &* sums[sub &+ 6]))
                    }
                    var q = (start(0), T.value > 1 ? start(1) : Quad(), T.value > 2 ? start(2) : Quad(), T.value > 3 ? start(3) : Quad())
                    for kk in 0..<4 {
                        let k = 4 &* m &+ kk
                        let h = blk.load(fromByteOffset: Q6KLayout.high &+ 64 &* (8 &* n &+ k), as: Lanes.self)
                        let r0 = blk.load(fromByteOffset: Q6KLayout.low &+ 64 &* (16 &* n &+ k), as: Lanes.self)
                        let r1 = blk.load(fromByteOffset: Q6KLayout.low &+ 64 &* (16 &* n &+ 8 &+ k), as: Lanes.self)
                        let u0 = _mm512_or_si512(_mm512_and_si512(r0, nibble), _mm512_and_si512(_mm512_slli_epi16(h, 4), top))
                        let u1 = _mm512_or_si512(_mm512_and_si512(r1, nibble), _mm512_and_si512(_mm512_slli_epi16(h, 2), top))
                        let u2 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(r0, 4), nibble), _mm512_and_si512(h, top))
                        let u3 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(r1, 4), nibble),
                                                 _mm512_and_si512(_mm512_srli_epi16(h, 2), top))
                        let e = 256 &* b &+ 128 &* n &+ 4 &* k
                        @inline(__always) func step(_ p: inout Quad, _ t: Int) {
                            p.a = _mm512_dpbusd_epi32(p.a, u0, bytes(t, e))
                            p.b = _mm512_dpbusd_epi32(p.b, u1, bytes(t, e &+ 32))
                            p.c = _mm512_dpbusd_epi32(p.c, u2, bytes(t, e &+ 64))
                            p.d = _mm512_dpbusd_epi32(p.d, u3, bytes(t, e &+ 96))
                        }
                        step(&q.0, 0)
                        if T.value > 1 { step(&q.1, 1) }
                        if T.value > 2 { step(&q.2, 2) }
                        if T.value > 3 { step(&q.3, 3) }
                    }
                    @inline(__always) func scale(_ j: Int) -> Lanes {
                        _mm512_cvtepi8_epi32(blk.load(fromByteOffset: Q6KLayout.scales &+ 16 &* (8 &* n &+ m &+ j), as: SIMD2<Int64>.self))
                    }
                    let sa = scale(0), sb = scale(2), sc = scale(4), sd = scale(6)
                    @inline(__always) func scaled(_ s: Lanes, _ p: Quad) -> Lanes {
                        let ab = _mm512_add_epi32(_mm512_mullo_epi32(p.a, sa), _mm512_mullo_epi32(p.b, sb))
                        let cd = _mm512_add_epi32(_mm512_mullo_epi32(p.c, sc), _mm512_mullo_epi32(p.d, sd))
                        return _mm512_add_epi32(s, _mm512_add_epi32(ab, cd))
                    }
                    s.0 = scaled(s.0, q.0)
                    if T.value > 1 { s.1 = scaled(s.1, q.1) }
                    if T.value > 2 { s.2 = scaled(s.2, q.2) }
                    if T.value > 3 { s.3 = scaled(s.3, q.3) }
                }
            }
            let d = _mm512_cvtph_ps(blk.load(as: Bytes.self))
            @inline(__always) func finish(_ t: Int, _ s: Lanes, _ acc: inout SIMD16<Float>) {
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), d * SIMD16<Float>(repeating: token(t).scales[8 &* b]), acc)
            }
            finish(0, s.0, &acc.0)
            if T.value > 1 { finish(1, s.1, &acc.1) }
            if T.value > 2 { finish(2, s.2, &acc.2) }
            if T.value > 3 { finish(3, s.3, &acc.3) }
        }
        @inline(__always) func store(_ v: SIMD16<Float>, _ t: Int) { out.store(v, token: t, group: g, rows: rows) }
        store(acc.0, 0)
        if T.value > 1 { store(acc.1, 1) }
        if T.value > 2 { store(acc.2, 2) }
        if T.value > 3 { store(acc.3, 3) }
    }
}
#endif
