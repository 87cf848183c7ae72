#if arch(x86_64)
import CPrefetch
import _Builtin_intrinsics.intel
import ByteDotVNNI

/// Q4_K's interleaved copy (`Q4KLayout`) on the AVX2 baseline, eight rows at a time: the
/// integer sums of `InterleavedReference.referenceQ4K`, exactly. Per 32-element sub-block the
/// 16-bit pair sums of eight `pmaddubsw` (at most 8 · 2 · 15 · 128) are multiplied by the
/// sub-block's scale in the same `pmaddwd` that widens them; the minimums' sum takes two
/// sub-blocks per `pmaddwd` (a token's 32-element sums fit 16 bits).
struct HalfQ4KJob: HalfKernel {
    typealias Bytes = InterleavedAVX2.Bytes
    let stream: HalfStream

    @inline(__always)
    func half<T: Count>(_: T.Type, _ h: Int) {
        let size = Q4KLayout.groupBlockBytes
        let (groupBase, side) = stream.start(half: h, groupBlockBytes: size)
        let blocks = stream.blocks, tokens = stream.tokens, out = stream.out
        let mask = _mm256_set1_epi8(0x0F)
        var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var mins = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        for b in 0..<blocks {
            let blk = groupBase + b &* size
            if side == 0 { rdic_prefetch_stream(blk, size) }
            var s = (Bytes(), Bytes(), Bytes(), Bytes())
            for c in 0..<4 {
                var lo = (Bytes(), Bytes(), Bytes(), Bytes()), hi = (Bytes(), Bytes(), Bytes(), Bytes())
                for k in 0..<8 {
                    let raw = blk.load(fromByteOffset: Q4KLayout.quants &+ 64 &* (8 &* c &+ k) &+ 32 &* side, as: Bytes.self)
                    let l = _mm256_and_si256(raw, mask), u = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask)
                    let at = 256 &* b &+ 64 &* c &+ 4 &* k
                    @inline(__always) func step(_ lo: inout Bytes, _ hi: inout Bytes, _ t: Int) {
                        lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(l, tokens.bytes(t, at)))
                        hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(u, tokens.bytes(t, at &+ 32)))
                    }
                    step(&lo.0, &hi.0, 0)
                    if T.value > 1 { step(&lo.1, &hi.1, 1) }
                    if T.value > 2 { step(&lo.2, &hi.2, 2) }
                    if T.value > 3 { step(&lo.3, &hi.3, 3) }
                }
                let scalesAt: Int = Q4KLayout.scales &+ 32 &* c &+ 8 &* side
                let scLo = pairedBytes(blk + scalesAt), scHi = pairedBytes(blk + (scalesAt &+ 16))
                @inline(__always) func scaled(_ s: Bytes, _ l: Bytes, _ u: Bytes) -> Bytes {
                    _mm256_add_epi32(s, _mm256_add_epi32(_mm256_madd_epi16(l, scLo), _mm256_madd_epi16(u, scHi)))
                }
                s.0 = scaled(s.0, lo.0, hi.0)
                if T.value > 1 { s.1 = scaled(s.1, lo.1, hi.1) }
                if T.value > 2 { s.2 = scaled(s.2, lo.2, hi.2) }
                if T.value > 3 { s.3 = scaled(s.3, lo.3, hi.3) }
            }
            // Sub-blocks 2p and 2p + 1's minimums, one in each 16-bit half of a lane.
            @inline(__always) func minimumPair(_ p: Int) -> Bytes {
                let at: Int = Q4KLayout.mins &+ 32 &* p &+ 8 &* side
                let a = _mm256_cvtepu8_epi32(eightBytes(blk + at)), c = _mm256_cvtepu8_epi32(eightBytes(blk + (at &+ 16)))
                return _mm256_or_si256(a, _mm256_slli_epi32(c, 16))
            }
            let m0 = minimumPair(0), m1 = minimumPair(1), m2 = minimumPair(2), m3 = minimumPair(3)
            let d = _mm256_cvtph_ps(blk.load(fromByteOffset: 16 &* side, as: SIMD2<Int64>.self))
            let dmin = _mm256_cvtph_ps(blk.load(fromByteOffset: 32 &+ 16 &* side, as: SIMD2<Int64>.self))
            @inline(__always) func finish(_ t: Int, _ s: Bytes, _ acc: inout SIMD8<Float>, _ mins: inout SIMD8<Float>) {
                let token = tokens.token(t), sums = token.sums! + 8 &* b
                @inline(__always) func sumPair(_ p: Int) -> Bytes {
                    let a = UInt32(UInt16(truncatingIfNeeded: sums[2 &* p])), c = UInt32(UInt16(truncatingIfNeeded: sums[2 &* p &+ 1]))
                    return _mm256_set1_epi32(Int32(bitPattern: a | c << 16))
                }
                let m = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(m0, sumPair(0)), _mm256_madd_epi16(m1, sumPair(1))),
                                         _mm256_add_epi32(_mm256_madd_epi16(m2, sumPair(2)), _mm256_madd_epi16(m3, sumPair(3))))
                let scale = SIMD8<Float>(repeating: token.scales[8 &* b])
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d * scale, acc)
                mins = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), dmin * scale, mins)
            }
            finish(0, s.0, &acc.0, &mins.0)
            if T.value > 1 { finish(1, s.1, &acc.1, &mins.1) }
            if T.value > 2 { finish(2, s.2, &acc.2, &mins.2) }
            if T.value > 3 { finish(3, s.3, &acc.3, &mins.3) }
        }
        out.store(acc.0 - mins.0, token: 0, half: h)
        if T.value > 1 { out.store(acc.1 - mins.1, token: 1, half: h) }
        if T.value > 2 { out.store(acc.2 - mins.2, token: 2, half: h) }
        if T.value > 3 { out.store(acc.3 - mins.3, token: 3, half: h) }
    }
}

/// Q6_K's interleaved copy (`Q6KLayout`) on the AVX2 baseline, eight rows at a time: the
/// integer sums of `InterleavedReference.referenceQ6K`, exactly. A 16-element sub-block is four
/// steps of 6-bit quants; two steps' 16-bit pair sums (at most 2 · 2 · 63 · 128) are
/// multiplied by the sub-block's scale as `pmaddwd` widens them, and the -32 offset comes out
/// once per super-block as 32 · Σ scale · (the token's sub-block sum).
struct HalfQ6KJob: HalfKernel {
    typealias Bytes = InterleavedAVX2.Bytes
    let stream: HalfStream

    @inline(__always)
    func half<T: Count>(_: T.Type, _ h: Int) {
        let size = Q6KLayout.groupBlockBytes
        let (groupBase, side) = stream.start(half: h, groupBlockBytes: size)
        let blocks = stream.blocks, tokens = stream.tokens, out = stream.out
        let nibble = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30)
        var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        for b in 0..<blocks {
            let blk = groupBase + b &* size
            if side == 0 { rdic_prefetch_stream(blk, size) }
            @inline(__always) func register(_ at: Int) -> Bytes { blk.load(fromByteOffset: at &+ 32 &* side, as: Bytes.self) }
            @inline(__always) func scale(_ sub: Int) -> Bytes {
                let at: Int = Q6KLayout.scales &+ 16 &* sub &+ 8 &* side
                return pairedBytes(blk + at, signed: true)
            }
            var s = (Bytes(), Bytes(), Bytes(), Bytes())
            for n in 0..<2 {
                for q in 0..<4 {
                    // Quants u_q of steps k (elements 128n + 32q + 4k ..< +4 of the super-block),
                    // sub-blocks 8n + 2q (k < 4) and 8n + 2q + 1.
                    for m in 0..<2 {
                        let sc = scale(8 &* n &+ 2 &* q &+ m)
                        var p = (Bytes(), Bytes(), Bytes(), Bytes())
                        for kk in 0..<4 {
                            let k = 4 &* m &+ kk
                            let highAt: Int = Q6KLayout.high &+ 64 &* (8 &* n &+ k)
                            let lowAt: Int = Q6KLayout.low &+ 64 &* (16 &* n &+ 8 &* (q & 1) &+ k)
                            let high = register(highAt), low = register(lowAt)
                            let nibbles = q < 2 ? _mm256_and_si256(low, nibble) : _mm256_and_si256(_mm256_srli_epi16(low, 4), nibble)
                            let bits: Bytes = switch q {
                            case 0: _mm256_slli_epi16(high, 4)
                            case 1: _mm256_slli_epi16(high, 2)
                            case 2: high
                            default: _mm256_srli_epi16(high, 2)
                            }
                            let u = _mm256_or_si256(nibbles, _mm256_and_si256(bits, top))
                            let e = 256 &* b &+ 128 &* n &+ 32 &* q &+ 4 &* k
                            p.0 = _mm256_add_epi16(p.0, _mm256_maddubs_epi16(u, tokens.bytes(0, e)))
                            if T.value > 1 { p.1 = _mm256_add_epi16(p.1, _mm256_maddubs_epi16(u, tokens.bytes(1, e))) }
                            if T.value > 2 { p.2 = _mm256_add_epi16(p.2, _mm256_maddubs_epi16(u, tokens.bytes(2, e))) }
                            if T.value > 3 { p.3 = _mm256_add_epi16(p.3, _mm256_maddubs_epi16(u, tokens.bytes(3, e))) }
                            if kk & 1 == 1 {
                                s.0 = _mm256_add_epi32(s.0, _mm256_madd_epi16(p.0, sc))
                                if T.value > 1 { s.1 = _mm256_add_epi32(s.1, _mm256_madd_epi16(p.1, sc)) }
                                if T.value > 2 { s.2 = _mm256_add_epi32(s.2, _mm256_madd_epi16(p.2, sc)) }
                                if T.value > 3 { s.3 = _mm256_add_epi32(s.3, _mm256_madd_epi16(p.3, sc)) }
                                p = (Bytes(), Bytes(), Bytes(), Bytes())
                            }
                        }
                    }
                }
            }
            // Σ scale · Σ x over each sub-block, two sub-blocks per `pmaddwd`.
            @inline(__always) func scalePair(_ p: Int) -> Bytes {
                let at: Int = Q6KLayout.scales &+ 32 &* p &+ 8 &* side
                let a = _mm256_cvtepi8_epi32(eightBytes(blk + at)), c = _mm256_cvtepi8_epi32(eightBytes(blk + (at &+ 16)))
                return _mm256_or_si256(_mm256_and_si256(a, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(c, 16))
            }
            let pairs = (scalePair(0), scalePair(1), scalePair(2), scalePair(3), scalePair(4), scalePair(5), scalePair(6),
                         scalePair(7))
            let d = _mm256_cvtph_ps(blk.load(fromByteOffset: 16 &* side, as: SIMD2<Int64>.self))
            @inline(__always) func finish(_ t: Int, _ s: Bytes, _ acc: inout SIMD8<Float>) {
                let token = tokens.token(t), sums = token.sums16! + 16 &* b
                @inline(__always) func offset(_ pair: Bytes, _ p: Int) -> Bytes {
                    let a = UInt32(UInt16(truncatingIfNeeded: sums[2 &* p])), c = UInt32(UInt16(truncatingIfNeeded: sums[2 &* p &+ 1]))
                    return _mm256_madd_epi16(pair, _mm256_set1_epi32(Int32(bitPattern: a | c << 16)))
                }
                let o = _mm256_add_epi32(
                    _mm256_add_epi32(_mm256_add_epi32(offset(pairs.0, 0), offset(pairs.1, 1)),
                                     _mm256_add_epi32(offset(pairs.2, 2), offset(pairs.3, 3))),
                    _mm256_add_epi32(_mm256_add_epi32(offset(pairs.4, 4), offset(pairs.5, 5)),
                                     _mm256_add_epi32(offset(pairs.6, 6), offset(pairs.7, 7))))
                let total = _mm256_sub_epi32(s, _mm256_slli_epi32(o, 5))
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), d * SIMD8<Float>(repeating: token.scales[8 &* b]), acc)
            }
            finish(0, s.0, &acc.0)
            if T.value > 1 { finish(1, s.1, &acc.1) }
            if T.value > 2 { finish(2, s.2, &acc.2) }
            if T.value > 3 { finish(3, s.3, &acc.3) }
        }
        out.store(acc.0, token: 0, half: h)
        if T.value > 1 { out.store(acc.1, token: 1, half: h) }
        if T.value > 2 { out.store(acc.2, token: 2, half: h) }
        if T.value > 3 { out.store(acc.3, token: 3, half: h) }
    }
}
#endif
