#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// The row format of the `q4` cache type: groups of 64 elements, each an f16 scale `d` and 64
/// 4-bit levels `n` standing for `(n - 8) · d` (34 bytes per 64 elements: 4.25 bits). The
/// nibbles of each half-group are laid out as Q4_0's (low nibbles: elements 0-15, high ones:
/// 16-31), so a half-group scores against a Q8_0 query block as Q4_0 does. Rows reach this
/// format centered and rotated (see `KVRowOffsets`, `KVStorage`): what is left is spread evenly
/// and symmetric about zero, so one symmetric scale per 64 elements loses little against 32.
public enum Q4Rows {
    public static let groupSize = 64
    static let groupBytes = 34

    /// Bytes of a row of `count` elements (a multiple of 64).
    public static func rowBytes(_ count: Int) -> Int { count / groupSize * groupBytes }

    /// Quantizes `count` floats, each group with the scale that fits it best: of the scales
    /// putting the largest element at level -8 ± 0.9, the least-squares one.
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        precondition(count % groupSize == 0)
        for g in 0..<(count / groupSize) { quantizeGroup(x + groupSize * g, into: dst + groupBytes * g) }
    }

    private static func quantizeGroup(_ x: UnsafePointer<Float>, into blk: UnsafeMutableRawPointer) {
        var maxValue: Float = 0
        for j in 0..<groupSize where abs(x[j]) > abs(maxValue) { maxValue = x[j] }
        var levels = [Int8](repeating: 0, count: groupSize), best = levels
        var bestScale: Float = 0, bestFit: Float = -1
        if maxValue != 0 && maxValue.isFinite {
            for i in -9...9 {
                let iscale = -(8 + 0.1 * Float(i)) / maxValue
                var lx: Float = 0, l2: Float = 0
                for j in 0..<groupSize {
                    let l = min(7, max(-8, (x[j] * iscale).rounded()))
                    levels[j] = Int8(l)
                    lx += l * x[j]
                    l2 += l * l
                }
                guard l2 > 0, lx * lx / l2 > bestFit else { continue }
                bestFit = lx * lx / l2
                bestScale = lx / l2
                best = levels
            }
        }
        blk.storeBytes(of: Float16(bestScale).bitPattern, as: UInt16.self)
        for half in 0..<2 {
            for j in 0..<16 {
                let lo = UInt8(Int(best[32 * half + j]) + 8), hi = UInt8(Int(best[32 * half + j + 16]) + 8)
                blk.storeBytes(of: lo | hi << 4, toByteOffset: 2 + 16 * half + j, as: UInt8.self)
            }
        }
    }

    @inline(__always) static func scale(_ blk: UnsafeRawPointer) -> Float {
        Float(Float16(bitPattern: blk.loadUnaligned(as: UInt16.self)))
    }

    /// The 32 levels of a half-group, unsigned (0...15), in element order.
    @inline(__always) static func halfGroup(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let b = p.loadUnaligned(as: SIMD16<UInt8>.self)
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: b & 0x0F)), SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: b &>> 4)))
    }

    public static func dequantize(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for g in 0..<(count / groupSize) {
            let blk = row + groupBytes * g, d = scale(blk)
            for half in 0..<2 {
                let (lo, hi) = halfGroup(blk + 2 + 16 * half)
                let o = UnsafeMutableRawPointer(out + groupSize * g + 32 * half)
                o.storeBytes(of: (lo - 8) * d, as: SIMD16<Float>.self)
                o.storeBytes(of: (hi - 8) * d, toByteOffset: 64, as: SIMD16<Float>.self)
            }
        }
    }

    /// `acc += scale · row`: a value row added into an attention output.
    @inline(__always)
    public static func addScaled(_ row: UnsafeRawPointer, count: Int, scale p: Float, into acc: UnsafeMutablePointer<Float>) {
        for g in 0..<(count / groupSize) {
            let blk = row + groupBytes * g, d = scale(blk) * p
            let bias = SIMD16<Float>(repeating: -8 * d)
            for half in 0..<2 {
                let (lo, hi) = halfGroup(blk + 2 + 16 * half)
                let o = UnsafeMutableRawPointer(acc + groupSize * g + 32 * half)
                o.storeBytes(of: o.loadUnaligned(as: SIMD16<Float>.self) + (lo * d + bias), as: SIMD16<Float>.self)
                o.storeBytes(of: o.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) + (hi * d + bias),
                             toByteOffset: 64, as: SIMD16<Float>.self)
            }
        }
    }

    /// A query as `dot` takes it: per 32-element block, 8-bit values `x`, the block's scale
    /// (its largest magnitude at 127) and the scale times the sum of its values.
    public static func quantizeQuery(_ src: UnsafePointer<Float>, count: Int, into x: UnsafeMutablePointer<Int8>,
                                     scales: UnsafeMutablePointer<Float>, scaledSums: UnsafeMutablePointer<Float>) {
        for b in 0..<(count / 32) {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(src[32 * b + j])) }
            let d = amax / 127, inv: Float = amax == 0 ? 0 : 127 / amax
            var sum: Int32 = 0
            for j in 0..<32 {
                let v = Int8((src[32 * b + j] * inv).rounded())
                x[32 * b + j] = v
                sum += Int32(v)
            }
            scales[b] = d
            scaledSums[b] = d * Float(sum)
        }
    }

    /// The dot product of a row with a query from `quantizeQuery`.
    @inline(__always)
    public static func dot(_ row: UnsafeRawPointer, count: Int, x: UnsafePointer<Int8>, scales: UnsafePointer<Float>,
                           scaledSums: UnsafePointer<Float>) -> Float {
        #if arch(x86_64)
        var acc = SIMD8<Float>()
        var offset: Float = 0
        for g in 0..<(count / groupSize) {
            let blk = row + groupBytes * g, d = scale(blk)
            for half in 0..<2 {
                let b = 2 * g + half
                let sum = _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles(blk + 2 + 16 * half),
                                                                  UnsafeRawPointer(x + 32 * b).loadUnaligned(as: SIMD4<Int64>.self)),
                                            _mm256_set1_epi16(1))
                // Σ (n - 8) q = Σ n q - 8 Σ q
                acc.addProduct(_mm256_cvtepi32_ps(sum), SIMD8(repeating: d * scales[b]))
                offset = offset.addingProduct(d, scaledSums[b])
            }
        }
        return acc.sum() - 8 * offset
        #else
        var total: Float = 0
        for g in 0..<(count / groupSize) {
            let blk = row + groupBytes * g, d = scale(blk)
            for half in 0..<2 {
                let b = 2 * g + half, p = blk + 2 + 16 * half
                var s: Int32 = 0
                for j in 0..<16 {
                    let byte = p.load(fromByteOffset: j, as: UInt8.self)
                    s += (Int32(byte & 0x0F) - 8) * Int32(x[32 * b + j]) + (Int32(byte >> 4) - 8) * Int32(x[32 * b + j + 16])
                }
                total += d * scales[b] * Float(s)
            }
        }
        return total
        #endif
    }

    #if arch(x86_64)
    /// The 32 nibbles of 16 bytes as bytes: low nibbles are elements 0-15, high ones 16-31.
    @inline(__always) static func nibbles(_ p: UnsafeRawPointer) -> SIMD4<Int64> {
        let q = p.loadUnaligned(as: SIMD2<Int64>.self)
        let mask = _mm_set1_epi8(0x0F)
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), mask), _mm_and_si128(q, mask))
    }
    #endif
}
