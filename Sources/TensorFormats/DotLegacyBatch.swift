/// The 32-element-block kernels for four activation rows at once (matrix x matrix, e.g. a
/// prompt's tokens): each weight block is unpacked once and multiplied with the four rows, which
/// removes most of the unpacking cost per output. Same arithmetic per output as the single-row
/// kernels (results equal to float rounding).

typealias ActivationRows4 = (ActivationRow, ActivationRow, ActivationRow, ActivationRow)

/// Room for 64 floats on the stack.
typealias Scales64 = (F32x8, F32x8, F32x8, F32x8, F32x8, F32x8, F32x8, F32x8)

@inline(__always) func member(_ rows: ActivationRows4, _ r: Int) -> ActivationRow {
    switch r {
    case 0: rows.0
    case 1: rows.1
    case 2: rows.2
    default: rows.3
    }
}

/// `forEachBlockGroup` for four activation rows; `unpack(b)` gives block b's weight lanes.
@inline(__always) func forEachBlockGroup4(
    _ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int, blockBytes: Int, dOffset: Int, withMins: Bool,
    offset: Float = 0, _ unpack: (_ block: Int) -> (I16x16, I16x16)
) -> SIMD4<Float> {
    var result = SIMD4<Float>()
    // 4 x 64 scales in a stack tuple (a temporary allocation this size may first call into the
    // runtime to check the stack).
    let z = F32x8()
    let zeros: Scales64 = (z, z, z, z, z, z, z, z)
    var buffer = (zeros, zeros, zeros, zeros)
    withUnsafeMutableBytes(of: &buffer) { raw in
        let scales = raw.baseAddress!
        var chunk = 0
        while chunk < blocks {
            let chunkBlocks = min(64, blocks - chunk)
            var g = 0
            while g < chunkBlocks {
                let b = chunk + g
                let n = min(8, chunkBlocks - g)
                let p = w + b * blockBytes
                let mask = n == 8 ? F32x8(repeating: 1) : laneMask(n)
                if withMins {
                    let (d, m) = blockHalfPairs(p, stride: blockBytes, n)
                    for r in 0..<4 {
                        let row = member(a, r)
                        let da = load8(row.scales + b) * mask
                        scales.storeBytes(of: d * da, toByteOffset: 256 &* r &+ 4 &* g, as: F32x8.self)
                        result[r] += laneSum(m * (load8(row.minSums + b) * mask))
                    }
                } else {
                    let d = blockHalves(p, stride: blockBytes, offset: dOffset, n)
                    for r in 0..<4 {
                        let row = member(a, r)
                        let s = d * (load8(row.scales + b) * mask)
                        scales.storeBytes(of: s, toByteOffset: 256 &* r &+ 4 &* g, as: F32x8.self)
                        result[r] += offset * laneSum(s * load8AsFloats(row.sums + b))
                    }
                }
                g += 8
            }
            var acc0 = F32x8(), acc1 = F32x8(), acc2 = F32x8(), acc3 = F32x8()
            for i in 0..<chunkBlocks {
                let b = chunk &+ i
                let (e, o) = unpack(b)
                let off = 64 &* b
                acc0 += toFloat(dot32(even: e, odd: o, activations: a.0.qs + off)) * scales.load(fromByteOffset: 4 &* i, as: Float.self)
                acc1 += toFloat(dot32(even: e, odd: o, activations: a.1.qs + off)) * scales.load(fromByteOffset: 256 &+ 4 &* i, as: Float.self)
                acc2 += toFloat(dot32(even: e, odd: o, activations: a.2.qs + off)) * scales.load(fromByteOffset: 512 &+ 4 &* i, as: Float.self)
                acc3 += toFloat(dot32(even: e, odd: o, activations: a.3.qs + off)) * scales.load(fromByteOffset: 768 &+ 4 &* i, as: Float.self)
            }
            result += SIMD4(laneSum(acc0), laneSum(acc1), laneSum(acc2), laneSum(acc3))
            chunk += chunkBlocks
        }
    }
    return result
}

@inline(__always) func dotQ8_0x4(_ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int) -> SIMD4<Float> {
    forEachBlockGroup4(w, a, blocks: blocks, blockBytes: 34, dOffset: 0, withMins: false) { unpackQ8_0(w, $0) }
}

@inline(__always) func dotQ4_0x4(_ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int) -> SIMD4<Float> {
    let mask = a.0.nibbleMask
    return forEachBlockGroup4(w, a, blocks: blocks, blockBytes: 18, dOffset: 0, withMins: false, offset: -8) { unpackQ4_0(w, $0, mask) }
}

@inline(__always) func dotQ4_1x4(_ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int) -> SIMD4<Float> {
    let mask = a.0.nibbleMask
    return forEachBlockGroup4(w, a, blocks: blocks, blockBytes: 20, dOffset: 0, withMins: true) { unpackQ4_1(w, $0, mask) }
}

@inline(__always) func dotQ5_0x4(_ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int) -> SIMD4<Float> {
    let k5 = a.0.q5Constants, mask = a.0.nibbleMask
    return forEachBlockGroup4(w, a, blocks: blocks, blockBytes: 22, dOffset: 0, withMins: false, offset: -16) { unpackQ5_0(w, $0, mask, k5) }
}

@inline(__always) func dotQ5_1x4(_ w: UnsafeRawPointer, _ a: ActivationRows4, blocks: Int) -> SIMD4<Float> {
    let k5 = a.0.q5Constants, mask = a.0.nibbleMask
    return forEachBlockGroup4(w, a, blocks: blocks, blockBytes: 24, dOffset: 0, withMins: true) { unpackQ5_1(w, $0, mask, k5) }
}
