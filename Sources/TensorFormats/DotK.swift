/// Dot products of one row of K-quant weights with Q8_K activations.
///
/// Per 256-element super-block the integer sums Σ scale_g · Σ(q · a) are exact (as in ggml's
/// `vec_dot_*_q8_K`) and scaled once by d · d_a; constant offsets (Q3_K's -4, Q6_K's -32) and
/// minimums (Q2_K, Q4_K, Q5_K) go through the activation sums of each 16 quants.

/// A vector scaling lanes 0-3 by `a` and lanes 4-7 by `b` (two 16-element groups of a 32-lane
/// pair sum).
@inline(__always) func groupScales(_ a: Int32, _ b: Int32) -> I32x8 {
    I32x8(lowHalf: SIMD4(repeating: a), highHalf: SIMD4(repeating: b))
}

/// Q4_K: d, dmin, 12 bytes of 6-bit scales/mins, qs[128].
@inline(__always) func dotQ4_K(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    var minAcc: Float = 0
    for sb in 0..<blocks {
        let blk = w + 144 * sb
        let aq = a.qs + 512 * sb
        let sums = a.sums + 16 * sb
        // Unpack 8 scales and 8 mins four bytes at a time (see `scaleMinK4`).
        let u0 = blk.u32(4), u1 = blk.u32(8), u2 = blk.u32(12)
        let scales = (u0 & 0x3f3f_3f3f, (u2 & 0x0f0f_0f0f) | (((u0 >> 6) & 0x0303_0303) << 4))
        let mins = (u1 & 0x3f3f_3f3f, ((u2 >> 4) & 0x0f0f_0f0f) | (((u1 >> 6) & 0x0303_0303) << 4))
        @inline(__always) func byte(_ pair: (UInt32, UInt32), _ i: Int) -> Int32 {
            Int32((i < 4 ? pair.0 >> UInt32(8 * i) : pair.1 >> UInt32(8 * (i - 4))) & 0xFF)
        }
        var isum = I32x8()
        for j in 0..<4 {
            let q = blk.u16x16(16 + 32 * j)
            let lo = q & 0x0F0F, hi = (q &>> 4) & 0x0F0F
            let p0 = dot32(even: asSigned(lo & 0xFF), odd: asSigned(lo &>> 8), activations: aq + 2 * (64 * j))
            let p1 = dot32(even: asSigned(hi & 0xFF), odd: asSigned(hi &>> 8), activations: aq + 2 * (64 * j + 32))
            isum &+= p0 &* I32x8(repeating: byte(scales, 2 * j)) &+ p1 &* I32x8(repeating: byte(scales, 2 * j + 1))
        }
        var msum: Int32 = 0
        for j in 0..<8 { msum &+= byte(mins, j) &* (sums[2 * j] &+ sums[2 * j + 1]) }
        let da = a.scales[sb]
        acc += toFloat(isum) * (blk.half(0) * da)
        minAcc += blk.half(2) * da * Float(msum)
    }
    return laneSum(acc) - minAcc
}

/// Q5_K: d, dmin, scales[12], qh[32], qs[128].
@inline(__always) func dotQ5_K(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    var minAcc: Float = 0
    for sb in 0..<blocks {
        let blk = w + 176 * sb
        let aq = a.qs + 512 * sb
        let sums = a.sums + 16 * sb
        let u0 = blk.u32(4), u1 = blk.u32(8), u2 = blk.u32(12)
        let scales = (u0 & 0x3f3f_3f3f, (u2 & 0x0f0f_0f0f) | (((u0 >> 6) & 0x0303_0303) << 4))
        let mins = (u1 & 0x3f3f_3f3f, ((u2 >> 4) & 0x0f0f_0f0f) | (((u1 >> 6) & 0x0303_0303) << 4))
        @inline(__always) func byte(_ pair: (UInt32, UInt32), _ i: Int) -> Int32 {
            Int32((i < 4 ? pair.0 >> UInt32(8 * i) : pair.1 >> UInt32(8 * (i - 4))) & 0xFF)
        }
        let qh = blk.u16x16(16)
        var isum = I32x8()
        for j in 0..<4 {
            let q = blk.u16x16(48 + 32 * j)
            let lo = (q & 0x0F0F) | (((qh &>> UInt16(2 * j)) & 0x0101) &<< 4)
            let hi = ((q &>> 4) & 0x0F0F) | (((qh &>> UInt16(2 * j + 1)) & 0x0101) &<< 4)
            let p0 = dot32(even: asSigned(lo & 0xFF), odd: asSigned(lo &>> 8), activations: aq + 2 * (64 * j))
            let p1 = dot32(even: asSigned(hi & 0xFF), odd: asSigned(hi &>> 8), activations: aq + 2 * (64 * j + 32))
            isum &+= p0 &* I32x8(repeating: byte(scales, 2 * j)) &+ p1 &* I32x8(repeating: byte(scales, 2 * j + 1))
        }
        var msum: Int32 = 0
        for j in 0..<8 { msum &+= byte(mins, j) &* (sums[2 * j] &+ sums[2 * j + 1]) }
        let da = a.scales[sb]
        acc += toFloat(isum) * (blk.half(0) * da)
        minAcc += blk.half(2) * da * Float(msum)
    }
    return laneSum(acc) - minAcc
}

/// Q6_K: ql[128], qh[64], scales[16] int8, d; value d * scale * (q6 - 32).
@inline(__always) func dotQ6_K(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    for sb in 0..<blocks {
        let blk = w + 210 * sb
        let aq = a.qs + 512 * sb
        let sums = a.sums + 16 * sb
        let sc = blk + 192
        @inline(__always) func s(_ i: Int) -> Int32 { Int32(sc.int8(i)) }
        var isum = I32x8()
        for n in 0..<2 {
            let ql0 = blk.u16x16(64 * n), ql1 = blk.u16x16(64 * n + 32), qh = blk.u16x16(128 + 32 * n)
            // Four runs of 32 six-bit values: low/high nibbles of ql0/ql1 with bit pairs of qh.
            let e0 = (ql0 & 0x0F0F) | ((qh &<< 4) & 0x3030)
            let e1 = (ql1 & 0x0F0F) | ((qh &<< 2) & 0x3030)
            let e2 = ((ql0 &>> 4) & 0x0F0F) | (qh & 0x3030)
            let e3 = ((ql1 &>> 4) & 0x0F0F) | ((qh &>> 2) & 0x3030)
            let base = 128 * n
            let g = 8 * n
            isum &+= dot32(even: asSigned(e0 & 0xFF), odd: asSigned(e0 &>> 8), activations: aq + 2 * base)
                &* groupScales(s(g), s(g + 1))
            isum &+= dot32(even: asSigned(e1 & 0xFF), odd: asSigned(e1 &>> 8), activations: aq + 2 * (base + 32))
                &* groupScales(s(g + 2), s(g + 3))
            isum &+= dot32(even: asSigned(e2 & 0xFF), odd: asSigned(e2 &>> 8), activations: aq + 2 * (base + 64))
                &* groupScales(s(g + 4), s(g + 5))
            isum &+= dot32(even: asSigned(e3 & 0xFF), odd: asSigned(e3 &>> 8), activations: aq + 2 * (base + 96))
                &* groupScales(s(g + 6), s(g + 7))
        }
        var offset: Int32 = 0
        for g in 0..<16 { offset &+= s(g) &* sums[g] }
        acc += toFloat(isum &- I32x8(32 &* offset, 0, 0, 0, 0, 0, 0, 0)) * (blk.half(208) * a.scales[sb])
    }
    return laneSum(acc)
}

/// Q3_K: hmask[32], qs[64], scales[12], d; value d * (scale - 32) * (q2 - (bit ? 0 : 4)).
@inline(__always) func dotQ3_K(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    for sb in 0..<blocks {
        let blk = w + 110 * sb
        let aq = a.qs + 512 * sb
        let sums = a.sums + 16 * sb
        let scales = blk + 96
        let hm = blk.u16x16(0)
        var isum = I32x8()
        var offset: Int32 = 0
        for n in 0..<2 {
            let q = blk.u16x16(32 + 32 * n)
            for j in 0..<4 {
                let g = 8 * n + 2 * j
                let s0 = q3KScale(g, scales), s1 = q3KScale(g + 1, scales)
                // q2 + 4 * bit, so the stored value minus 4 for every element.
                let e = ((q &>> UInt16(2 * j)) & 0x0303) | (((hm &>> UInt16(4 * n + j)) & 0x0101) &<< 2)
                isum &+= dot32(even: asSigned(e & 0xFF), odd: asSigned(e &>> 8), activations: aq + 2 * (128 * n + 32 * j))
                    &* groupScales(s0, s1)
                offset &+= s0 &* sums[g] &+ s1 &* sums[g + 1]
            }
        }
        acc += toFloat(isum &- I32x8(4 &* offset, 0, 0, 0, 0, 0, 0, 0)) * (blk.half(108) * a.scales[sb])
    }
    return laneSum(acc)
}

/// Q2_K: scales[16] (scale | min << 4), qs[64], d, dmin; value d * scale * q2 - dmin * min.
@inline(__always) func dotQ2_K(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    var minAcc: Float = 0
    for sb in 0..<blocks {
        let blk = w + 84 * sb
        let aq = a.qs + 512 * sb
        let sums = a.sums + 16 * sb
        var isum = I32x8()
        var msum: Int32 = 0
        for n in 0..<2 {
            let q = blk.u16x16(16 + 32 * n)
            for j in 0..<4 {
                let g = 8 * n + 2 * j
                let e = (q &>> UInt16(2 * j)) & 0x0303
                isum &+= dot32(even: asSigned(e & 0xFF), odd: asSigned(e &>> 8), activations: aq + 2 * (128 * n + 32 * j))
                    &* groupScales(Int32(blk.byte(g) & 0x0F), Int32(blk.byte(g + 1) & 0x0F))
            }
        }
        for g in 0..<16 { msum &+= Int32(blk.byte(g) >> 4) &* sums[g] }
        let da = a.scales[sb]
        acc += toFloat(isum) * (blk.half(80) * da)
        minAcc += blk.half(82) * da * Float(msum)
    }
    return laneSum(acc) - minAcc
}
