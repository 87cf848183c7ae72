/// Dot products of one row of 32-element-block weights with Q8_0 activations.
///
/// Every kernel computes, per block, the exact integer dot product of the weight quants with the
/// activation quants and scales it once: the integer part equals ggml's `vec_dot_*_q8_0`; the
/// float accumulation keeps 8 lanes and sums them at the end. Offsets (Q4_0's -8, Q5_0's -16)
/// and minimums (Q4_1, Q5_1) are applied through the activation block sums instead of per lane.

/// Runs `blockDot(block)` over the blocks and returns Σ scale_b · blockDot(b) (scale_b = weight
/// d · activation d), plus `offset` · Σ scale_b · activation block sum (the weights' constant
/// offset, e.g. -8 for Q4_0), plus Σ m_b · d_a · activation block sum `withMins` (Q4_1 and Q5_1,
/// whose blocks start with f16 d and m).
///
/// The f16 weight scales are converted 8 at a time in a first pass over up to 64 blocks, into a
/// fixed stack buffer that the second pass reads back: converting per block costs a dozen
/// scalar instructions, and taking lanes straight out of the converted vector makes the compiler
/// scalarize the conversion again.
@inline(__always) func forEachBlockGroup(
    _ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int, blockBytes: Int, dOffset: Int, withMins: Bool,
    offset: Float = 0, _ blockDot: (_ block: Int) -> I32x8
) -> Float {
    // `forEachBlockGroup4` computes the same terms, grouped differently (each arrangement is the
    // one that compiles to the faster loop), so batched results agree to float rounding.
    var result: Float = 0
    var buffer = (F32x8(), F32x8(), F32x8(), F32x8(), F32x8(), F32x8(), F32x8(), F32x8())
    var chunk = 0
    while chunk < blocks {
        let chunkBlocks = min(64, blocks - chunk)
        withUnsafeMutableBytes(of: &buffer) { raw in
            let scales = raw.baseAddress!
            var extra = F32x8()  // offset or minimum terms of this chunk
            var g = 0
            while g < chunkBlocks {
                let b = chunk + g
                let n = min(8, chunkBlocks - g)
                let p = w + b * blockBytes
                // Lanes past the row's last block must not count: zero their activation scale.
                let mask = n == 8 ? F32x8(repeating: 1) : laneMask(n)
                let da = load8(a.scales + b) * mask
                let s: F32x8
                if withMins {
                    // d and m are the first two f16 fields of Q4_1/Q5_1 blocks.
                    let (d, m) = blockHalfPairs(p, stride: blockBytes, n)
                    s = d * da
                    extra += m * (load8(a.minSums + b) * mask)
                } else {
                    s = blockHalves(p, stride: blockBytes, offset: dOffset, n) * da
                    extra += offset * (s * load8AsFloats(a.sums + b))
                }
                scales.storeBytes(of: s, toByteOffset: 4 * g, as: F32x8.self)
                g += 8
            }
            result += laneSum(extra)
            var acc = F32x8()
            for i in 0..<chunkBlocks {
                acc += toFloat(blockDot(chunk &+ i)) * scales.load(fromByteOffset: 4 &* i, as: Float.self)
            }
            result += laneSum(acc)
        }
        chunk += chunkBlocks
    }
    return result
}

// Per-format unpacking of block `b` into even/odd 16-bit weight lanes (see `dot32`).

@inline(__always) func unpackQ8_0(_ w: UnsafeRawPointer, _ b: Int) -> (I16x16, I16x16) {
    let q = w.i16x16(34 &* b &+ 2)
    return (evenBytes(q), oddBytes(q))
}

@inline(__always) func unpackQ4_0(_ w: UnsafeRawPointer, _ b: Int, _ mask: U16x16) -> (I16x16, I16x16) {
    let n = splitNibbles(w.u16x8(18 &* b &+ 2), mask: mask)
    return (asSigned(n & 0xFF), asSigned(n &>> 8))
}

@inline(__always) func unpackQ4_1(_ w: UnsafeRawPointer, _ b: Int, _ mask: U16x16) -> (I16x16, I16x16) {
    let n = splitNibbles(w.u16x8(20 &* b &+ 4), mask: mask)
    return (asSigned(n & 0xFF), asSigned(n &>> 8))
}

@inline(__always) func unpackQ5_0(_ w: UnsafeRawPointer, _ b: Int, _ mask: U16x16, _ k5: (U32x8, U32x8)) -> (I16x16, I16x16) {
    let n = splitNibbles(w.u16x8(22 &* b &+ 6), mask: mask) | q5HighBits(w.u32(22 &* b &+ 2), constants: k5)
    return (asSigned(n & 0xFF), asSigned(n &>> 8))
}

@inline(__always) func unpackQ5_1(_ w: UnsafeRawPointer, _ b: Int, _ mask: U16x16, _ k5: (U32x8, U32x8)) -> (I16x16, I16x16) {
    let n = splitNibbles(w.u16x8(24 &* b &+ 8), mask: mask) | q5HighBits(w.u32(24 &* b &+ 4), constants: k5)
    return (asSigned(n & 0xFF), asSigned(n &>> 8))
}

/// The fifth bits of a Q5 block at bit 4 of each byte, bytes in element order (which is the
/// `splitNibbles` order). 32-bit lane i covers elements 4i...4i+3, so it takes nibble i of `qh`
/// (one variable shift by `k.0` = 4i), then multiplying by `k.1` = 0x00204081 copies bit j of
/// the nibble to bits j, j+7, j+14, j+21 without carries, of which bit 8j is kept and moved to
/// 8j+4. The constants come from memory (`QuantizedActivations.kernelConstants`): given as
/// literals, the optimizer turns the shift and multiply into long shuffle sequences.
@inline(__always) func q5HighBits(_ qh: UInt32, constants k: (U32x8, U32x8)) -> U16x16 {
    let t = (SIMD8<UInt32>(repeating: qh) &>> k.0) & 0xF
    return unsafeBitCast(((t &* k.1) & 0x0101_0101) &<< 4, to: U16x16.self)
}

/// Q8_0: d:f16, qs[32].
@inline(__always) func dotQ8_0(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    forEachBlockGroup(w, a, blocks: blocks, blockBytes: 34, dOffset: 0, withMins: false) { b in
        let (e, o) = unpackQ8_0(w, b)
        return dot32(even: e, odd: o, activations: a.qs + 64 &* b)
    }
}

/// Q4_0: d:f16, qs[16]; value d * (nibble - 8).
@inline(__always) func dotQ4_0(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    let mask = a.nibbleMask
    return forEachBlockGroup(w, a, blocks: blocks, blockBytes: 18, dOffset: 0, withMins: false, offset: -8) { b in
        let (e, o) = unpackQ4_0(w, b, mask)
        return dot32(even: e, odd: o, activations: a.qs + 64 &* b)
    }
}

/// Q4_1: d:f16, m:f16, qs[16]; value d * nibble + m.
@inline(__always) func dotQ4_1(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    let mask = a.nibbleMask
    return forEachBlockGroup(w, a, blocks: blocks, blockBytes: 20, dOffset: 0, withMins: true) { b in
        let (e, o) = unpackQ4_1(w, b, mask)
        return dot32(even: e, odd: o, activations: a.qs + 64 &* b)
    }
}

/// Q5_0: d:f16, qh:u32, qs[16]; value d * ((nibble | bit << 4) - 16).
@inline(__always) func dotQ5_0(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    let k5 = a.q5Constants, mask = a.nibbleMask
    return forEachBlockGroup(w, a, blocks: blocks, blockBytes: 22, dOffset: 0, withMins: false, offset: -16) { b in
        let (e, o) = unpackQ5_0(w, b, mask, k5)
        return dot32(even: e, odd: o, activations: a.qs + 64 &* b)
    }
}

/// Q5_1: d:f16, m:f16, qh:u32, qs[16]; value d * (nibble | bit << 4) + m.
@inline(__always) func dotQ5_1(_ w: UnsafeRawPointer, _ a: ActivationRow, blocks: Int) -> Float {
    let k5 = a.q5Constants, mask = a.nibbleMask
    return forEachBlockGroup(w, a, blocks: blocks, blockBytes: 24, dOffset: 0, withMins: true) { b in
        let (e, o) = unpackQ5_1(w, b, mask, k5)
        return dot32(even: e, odd: o, activations: a.qs + 64 &* b)
    }
}
