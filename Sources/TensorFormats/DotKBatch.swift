/// Q4_K and Q6_K kernels for four activation rows at once (see DotLegacyBatch.swift): every
/// 32-element run of weights is unpacked once and multiplied with the four rows.

/// Q4_K x 4 activation rows.
@inline(__always) func dotQ4_Kx4(_ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int) -> SIMD4<Float> {
    var acc0 = F32x8(), acc1 = F32x8(), acc2 = F32x8(), acc3 = F32x8()
    var minAcc = SIMD4<Float>()
    for sb in 0..<blocks {
        let blk = w + 144 &* sb
        let u0 = blk.u32(4), u1 = blk.u32(8), u2 = blk.u32(12)
        let scales = (u0 & 0x3f3f_3f3f, (u2 & 0x0f0f_0f0f) | (((u0 >> 6) & 0x0303_0303) << 4))
        let mins = (u1 & 0x3f3f_3f3f, ((u2 >> 4) & 0x0f0f_0f0f) | (((u1 >> 6) & 0x0303_0303) << 4))
        @inline(__always) func byte(_ pair: (UInt32, UInt32), _ i: Int) -> Int32 {
            Int32((i < 4 ? pair.0 >> UInt32(8 * i) : pair.1 >> UInt32(8 * (i - 4))) & 0xFF)
        }
        let off = 512 &* sb
        var s0 = I32x8(), s1 = I32x8(), s2 = I32x8(), s3 = I32x8()
        for j in 0..<4 {
            let q = blk.u16x16(16 + 32 * j)
            let lo = q & 0x0F0F, hi = (q &>> 4) & 0x0F0F
            let le = asSigned(lo & 0xFF), lodd = asSigned(lo &>> 8)
            let he = asSigned(hi & 0xFF), hodd = asSigned(hi &>> 8)
            let c0 = I32x8(repeating: byte(scales, 2 * j)), c1 = I32x8(repeating: byte(scales, 2 * j + 1))
            let o0 = off &+ 128 &* j, o1 = off &+ 128 &* j &+ 64
            s0 &+= dot32(even: le, odd: lodd, activations: a.0.qs + o0) &* c0 &+ dot32(even: he, odd: hodd, activations: a.0.qs + o1) &* c1
            s1 &+= dot32(even: le, odd: lodd, activations: a.1.qs + o0) &* c0 &+ dot32(even: he, odd: hodd, activations: a.1.qs + o1) &* c1
            s2 &+= dot32(even: le, odd: lodd, activations: a.2.qs + o0) &* c0 &+ dot32(even: he, odd: hodd, activations: a.2.qs + o1) &* c1
            s3 &+= dot32(even: le, odd: lodd, activations: a.3.qs + o0) &* c0 &+ dot32(even: he, odd: hodd, activations: a.3.qs + o1) &* c1
        }
        let d = blk.half(0), dmin = blk.half(2)
        var m = I32x8()
        for j in 0..<8 { m[j] = byte(mins, j) }
        for r in 0..<4 {
            let row = member(a, r)
            let sums = row.sums + 16 &* sb
            var msum: Int32 = 0
            for j in 0..<8 { msum &+= m[j] &* (sums[2 * j] &+ sums[2 * j + 1]) }
            minAcc[r] += dmin * row.scales[sb] * Float(msum)
        }
        acc0 += toFloat(s0) * (d * a.0.scales[sb])
        acc1 += toFloat(s1) * (d * a.1.scales[sb])
        acc2 += toFloat(s2) * (d * a.2.scales[sb])
        acc3 += toFloat(s3) * (d * a.3.scales[sb])
    }
    return SIMD4(laneSum(acc0), laneSum(acc1), laneSum(acc2), laneSum(acc3)) - minAcc
}

/// Q6_K x 4 activation rows.
@inline(__always) func dotQ6_Kx4(_ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int) -> SIMD4<Float> {
    var acc0 = F32x8(), acc1 = F32x8(), acc2 = F32x8(), acc3 = F32x8()
    for sb in 0..<blocks {
        let blk = w + 210 &* sb
        let sc = blk + 192
        @inline(__always) func s(_ i: Int) -> Int32 { Int32(sc.int8(i)) }
        let off = 512 &* sb
        var s0 = I32x8(), s1 = I32x8(), s2 = I32x8(), s3 = I32x8()
        @inline(__always) func add(_ e: U16x16, _ at: Int, _ scale: I32x8) {
            let even = asSigned(e & 0xFF), odd = asSigned(e &>> 8)
            let o = off &+ 2 &* at
            s0 &+= dot32(even: even, odd: odd, activations: a.0.qs + o) &* scale
            s1 &+= dot32(even: even, odd: odd, activations: a.1.qs + o) &* scale
            s2 &+= dot32(even: even, odd: odd, activations: a.2.qs + o) &* scale
            s3 &+= dot32(even: even, odd: odd, activations: a.3.qs + o) &* scale
        }
        for n in 0..<2 {
            let ql0 = blk.u16x16(64 * n), ql1 = blk.u16x16(64 * n + 32), qh = blk.u16x16(128 + 32 * n)
            let g = 8 * n, base = 128 * n
            add((ql0 & 0x0F0F) | ((qh &<< 4) & 0x3030), base, groupScales(s(g), s(g + 1)))
            add((ql1 & 0x0F0F) | ((qh &<< 2) & 0x3030), base + 32, groupScales(s(g + 2), s(g + 3)))
            add(((ql0 &>> 4) & 0x0F0F) | (qh & 0x3030), base + 64, groupScales(s(g + 4), s(g + 5)))
            add(((ql1 &>> 4) & 0x0F0F) | ((qh &>> 2) & 0x3030), base + 96, groupScales(s(g + 6), s(g + 7)))
        }
        @inline(__always) func offset(_ row: ActivationRow) -> I32x8 {
            let sums = row.sums + 16 &* sb
            var total: Int32 = 0
            for g in 0..<16 { total &+= s(g) &* sums[g] }
            return I32x8(32 &* total, 0, 0, 0, 0, 0, 0, 0)
        }
        let d = blk.half(208)
        acc0 += toFloat(s0 &- offset(a.0)) * (d * a.0.scales[sb])
        acc1 += toFloat(s1 &- offset(a.1)) * (d * a.1.scales[sb])
        acc2 += toFloat(s2 &- offset(a.2)) * (d * a.2.scales[sb])
        acc3 += toFloat(s3 &- offset(a.3)) * (d * a.3.scales[sb])
    }
    return SIMD4(laneSum(acc0), laneSum(acc1), laneSum(acc2), laneSum(acc3))
}
