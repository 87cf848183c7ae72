/// Dot products of one row of 32-element-block weights with Q8_0 activations.
///
/// Every kernel computes, per block, the exact integer dot product of the weight quants with the
/// activation quants and scales it once: the integer part equals ggml's `vec_dot_*_q8_0`; the
/// float accumulation keeps 8 lanes and sums them at the end. Offsets (Q4_0's -8, Q5_0's -16)
/// and minimums (Q4_1, Q5_1) are applied through the activation block sums instead of per lane.

/// Q8_0: d:f16, qs[32].
@inline(__always) func dotQ8_0(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    for b in 0..<blocks {
        let blk = w + 34 * b
        let q = blk.i16x16(2)
        let x = a.qs.i16x16(32 * b)
        // Products of 127 x 127 fit 16 bits only in pairs: sum even and odd separately.
        let s = pairSum(evenBytes(q) &* evenBytes(x)) &+ pairSum(oddBytes(q) &* oddBytes(x))
        acc += toFloat(s) * (blk.half(0) * a.scales[b])
    }
    return acc.sum()
}

/// Q4_0: d:f16, qs[16]; value d * (nibble - 8).
@inline(__always) func dotQ4_0(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    var offset: Float = 0
    for b in 0..<blocks {
        let blk = w + 18 * b
        let n = splitNibbles(blk.u16x8(2))
        let s = dot32(even: asSigned(n & 0xFF), odd: asSigned(n &>> 8), activations: a.qs.i16x16(32 * b))
        let scale = blk.half(0) * a.scales[b]
        acc += toFloat(s) * scale
        offset += scale * Float(a.sums[b])
    }
    return acc.sum() - 8 * offset
}

/// Q4_1: d:f16, m:f16, qs[16]; value d * nibble + m.
@inline(__always) func dotQ4_1(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    var mins: Float = 0
    for b in 0..<blocks {
        let blk = w + 20 * b
        let n = splitNibbles(blk.u16x8(4))
        let s = dot32(even: asSigned(n & 0xFF), odd: asSigned(n &>> 8), activations: a.qs.i16x16(32 * b))
        acc += toFloat(s) * (blk.half(0) * a.scales[b])
        mins += blk.half(2) * (a.scales[b] * Float(a.sums[b]))
    }
    return acc.sum() + mins
}

/// The fifth bits of a Q5 block as 16-bit lanes matching `splitNibbles`: lane k (k < 8) holds
/// bits 2k and 2k+1 of `qh` at bit 4 of its even and odd byte, lane 8 + k bits 16 + 2k, 17 + 2k.
@inline(__always) func q5HighBits(_ qh: UInt32) -> U16x16 {
    let lo = U16x8(repeating: UInt16(truncatingIfNeeded: qh))
    let hi = U16x8(repeating: UInt16(truncatingIfNeeded: qh >> 16))
    let v = U16x16(lowHalf: lo, highHalf: hi)
    // Pick bit 2k for the even byte and bit 2k + 1 for the odd one, then move them to bit 4 of
    // each byte: (bit != 0) via ((x + 0x7FFF) >> 15) keeps the arithmetic on 16-bit lanes.
    let evenMask = U16x16(1, 4, 16, 64, 256, 1024, 4096, 16384, 1, 4, 16, 64, 256, 1024, 4096, 16384)
    let even = ((v & evenMask) &+ 0x7FFF) &>> 15
    let odd = ((v & (evenMask &<< 1)) &+ 0x7FFF) &>> 15
    return (even &<< 4) | (odd &<< 12)
}

/// Q5_0: d:f16, qh:u32, qs[16]; value d * ((nibble | bit << 4) - 16).
@inline(__always) func dotQ5_0(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    var offset: Float = 0
    for b in 0..<blocks {
        let blk = w + 22 * b
        let n = splitNibbles(blk.u16x8(6)) | q5HighBits(blk.u32(2))
        let s = dot32(even: asSigned(n & 0xFF), odd: asSigned(n &>> 8), activations: a.qs.i16x16(32 * b))
        let scale = blk.half(0) * a.scales[b]
        acc += toFloat(s) * scale
        offset += scale * Float(a.sums[b])
    }
    return acc.sum() - 16 * offset
}

/// Q5_1: d:f16, m:f16, qh:u32, qs[16]; value d * (nibble | bit << 4) + m.
@inline(__always) func dotQ5_1(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    var acc = F32x8()
    var mins: Float = 0
    for b in 0..<blocks {
        let blk = w + 24 * b
        let n = splitNibbles(blk.u16x8(8)) | q5HighBits(blk.u32(4))
        let s = dot32(even: asSigned(n & 0xFF), odd: asSigned(n &>> 8), activations: a.qs.i16x16(32 * b))
        acc += toFloat(s) * (blk.half(0) * a.scales[b])
        mins += blk.half(2) * (a.scales[b] * Float(a.sums[b]))
    }
    return acc.sum() + mins
}
