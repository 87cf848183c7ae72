/// Dequantization of the 256-element "K" super-blocks, bit-exact with ggml's reference.
///
/// Layouts (bytes, in order):
/// - Q2_K (84):  scales[16] (low nibble scale, high nibble min), qs[64] (2-bit), d:f16, dmin:f16
/// - Q3_K (110): hmask[32] (third bit), qs[64] (low 2 bits), scales[12] (16 x 6-bit), d:f16
/// - Q4_K (144): d:f16, dmin:f16, scales[12] (8 x 6-bit scale + 8 x 6-bit min), qs[128]
/// - Q5_K (176): d:f16, dmin:f16, scales[12], qh[32] (fifth bit), qs[128]
/// - Q6_K (210): ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8, d:f16
/// - Q8_K (292): d:f32, qs[256] int8, bsums[16] int16

/// The 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K/Q5_K block, packed in 12 bytes:
/// bytes 0-3 hold scales 0-3 (low 6 bits), bytes 4-7 mins 0-3; scales and mins 4-7 keep their
/// low nibbles in bytes 8-11 and their top two bits in the spare top bits of bytes 0-7.
@inline(__always) func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (q.byte(j) & 63, q.byte(j + 4) & 63)
    }
    let scale = (q.byte(j + 4) & 0x0F) | ((q.byte(j - 4) >> 6) << 4)
    let min = (q.byte(j + 4) >> 4) | ((q.byte(j) >> 6) << 4)
    return (scale, min)
}

/// The 16 signed 6-bit scales of a Q3_K block (already offset by -32). Low nibbles: bytes 0-7
/// (low nibble = scales 0-7, high nibble = scales 8-15); top two bits: bytes 8-11, scale `i` in
/// byte `8 + i % 4` at bit `2 * (i / 4)`.
@inline(__always) func q3KScale(_ i: Int, _ s: UnsafeRawPointer) -> Int32 {
    let low = i < 8 ? s.byte(i) & 0x0F : s.byte(i - 8) >> 4
    let high = (s.byte(8 + i % 4) >> UInt8(2 * (i / 4))) & 3
    return Int32(low | (high << 4)) - 32
}

@inline(__always) func dequantizeQ2_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(80), dmin = x.half(82)
    // Element n*128 + j*32 + l takes bits 2j of qs[n*32 + l]; 16 elements share one scale byte.
    for n in 0..<2 {
        for j in 0..<4 {
            for half in 0..<2 {
                let sc = x.byte(n * 8 + j * 2 + half)
                let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                for l in half * 16..<(half * 16 + 16) {
                    let q = (x.byte(16 + n * 32 + l) >> UInt8(2 * j)) & 3
                    y[n * 128 + j * 32 + l] = dl * Float(q) - ml
                }
            }
        }
    }
}

@inline(__always) func dequantizeQ3_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(108)
    let scales = x + 96
    // As Q2_K, plus a third bit from hmask[l], bit n*4 + j; a clear bit means "subtract 4".
    for n in 0..<2 {
        for j in 0..<4 {
            for half in 0..<2 {
                let dl = d * Float(q3KScale(n * 8 + j * 2 + half, scales))
                for l in half * 16..<(half * 16 + 16) {
                    let low = Int32((x.byte(32 + n * 32 + l) >> UInt8(2 * j)) & 3)
                    let high = (x.byte(l) >> UInt8(n * 4 + j)) & 1
                    y[n * 128 + j * 32 + l] = dl * Float(low - (high == 0 ? 4 : 0))
                }
            }
        }
    }
}

@inline(__always) func dequantizeQ4_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(0), dmin = x.half(2)
    let scales = x + 4, qs = x + 16
    // 64 elements per step: low nibbles of 32 bytes (sub-block 2j), then their high nibbles (2j+1).
    for j in 0..<4 {
        let (s1, m1) = scaleMinK4(2 * j, scales), (s2, m2) = scaleMinK4(2 * j + 1, scales)
        let d1 = d * Float(s1), dm1 = dmin * Float(m1)
        let d2 = d * Float(s2), dm2 = dmin * Float(m2)
        for l in 0..<32 {
            let q = qs.byte(32 * j + l)
            y[64 * j + l] = d1 * Float(q & 0x0F) - dm1
            y[64 * j + 32 + l] = d2 * Float(q >> 4) - dm2
        }
    }
}

@inline(__always) func dequantizeQ5_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(0), dmin = x.half(2)
    let scales = x + 4, qh = x + 16, qs = x + 48
    for j in 0..<4 {
        let (s1, m1) = scaleMinK4(2 * j, scales), (s2, m2) = scaleMinK4(2 * j + 1, scales)
        let d1 = d * Float(s1), dm1 = dmin * Float(m1)
        let d2 = d * Float(s2), dm2 = dmin * Float(m2)
        for l in 0..<32 {
            let q = qs.byte(32 * j + l), h = qh.byte(l)
            let lo = (q & 0x0F) | (((h >> UInt8(2 * j)) & 1) << 4)
            let hi = (q >> 4) | (((h >> UInt8(2 * j + 1)) & 1) << 4)
            y[64 * j + l] = d1 * Float(lo) - dm1
            y[64 * j + 32 + l] = d2 * Float(hi) - dm2
        }
    }
}

@inline(__always) func dequantizeQ6_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.half(208)
    // Two halves of 128: ql[64n..] low/high nibbles and qh[32n..] bit pairs make four runs of 32.
    for n in 0..<2 {
        let ql = x + 64 * n, qh = x + 128 + 32 * n, sc = x + 192 + 8 * n
        for l in 0..<32 {
            let s = l / 16
            let h = qh.byte(l)
            let q1 = Int32((ql.byte(l) & 0x0F) | ((h & 3) << 4)) - 32
            let q2 = Int32((ql.byte(l + 32) & 0x0F) | (((h >> 2) & 3) << 4)) - 32
            let q3 = Int32((ql.byte(l) >> 4) | (((h >> 4) & 3) << 4)) - 32
            let q4 = Int32((ql.byte(l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32
            y[128 * n + l] = d * Float(sc.int8(s)) * Float(q1)
            y[128 * n + l + 32] = d * Float(sc.int8(s + 2)) * Float(q2)
            y[128 * n + l + 64] = d * Float(sc.int8(s + 4)) * Float(q3)
            y[128 * n + l + 96] = d * Float(sc.int8(s + 6)) * Float(q4)
        }
    }
}

@inline(__always) func dequantizeQ8_K(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = x.f32(0)
    for j in 0..<256 { y[j] = d * Float(x.int8(4 + j)) }
}
