#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Weight rows as small unsigned integers with a scale and a minimum per block, for integer
/// matrix products built on an unsigned x signed byte multiply-add (x86's `pmaddubsw`):
///
///     value = scale[b] * (u - offset) - min[b],   0 <= u <= maxValue
///
/// Every format whose quants fit six bits decodes to this form; a product with 8-bit
/// activations then sums `u * a` exactly in integers, subtracts `offset * Σa` exactly too, and
/// needs floats only once per block (and for the minimums).
public struct UnsignedLayout: Sendable, Equatable {
    /// Elements sharing one scale: 32, or 16 for Q6_K.
    public let blockSize: Int
    /// The largest `u`: products of two `u * a` pairs stay within 16 bits up to 63.
    public let maxValue: Int
    /// Subtracted from every `u`.
    public let offset: Int32
    /// Whether the blocks have a minimum (otherwise every `min` is 0).
    public let hasMin: Bool
}

extension GGMLType {
    /// How `decodeUnsigned` represents this type, or nil when its quants do not fit (Q8_0's
    /// full bytes, the 16-element scales of Q2_K and Q3_K).
    public var unsignedLayout: UnsignedLayout? {
        switch self {
        case .q4_0: UnsignedLayout(blockSize: 32, maxValue: 15, offset: 8, hasMin: false)
        case .q4_1: UnsignedLayout(blockSize: 32, maxValue: 15, offset: 0, hasMin: true)
        case .q5_0: UnsignedLayout(blockSize: 32, maxValue: 31, offset: 16, hasMin: false)
        case .q5_1: UnsignedLayout(blockSize: 32, maxValue: 31, offset: 0, hasMin: true)
        case .q4_K: UnsignedLayout(blockSize: 32, maxValue: 15, offset: 0, hasMin: true)
        case .q5_K: UnsignedLayout(blockSize: 32, maxValue: 31, offset: 0, hasMin: true)
        case .q6_K: UnsignedLayout(blockSize: 16, maxValue: 63, offset: 32, hasMin: false)
        default: nil
        }
    }
}

/// Decodes `count` elements (whole blocks) of `type` at `src` into `u` (`count` bytes) and
/// `scales` and `mins` (`count / blockSize` each). `scale * (u - offset) - min` equals
/// `dequantize`'s value bit for bit.
public func decodeUnsigned(_ type: GGMLType, from src: UnsafeRawPointer, count: Int, u: UnsafeMutablePointer<UInt8>,
                           scales: UnsafeMutablePointer<Float>, mins: UnsafeMutablePointer<Float>) {
    precondition(type.unsignedLayout != nil, "\(type) has no unsigned form")
    precondition(count % type.blockSize == 0, "\(count) is not whole blocks of \(type)")
    let bb = type.blockBytes
    for b in 0..<(count / type.blockSize) {
        let x = src + b * bb
        switch type {
        case .q4_0, .q4_1:
            let qs = x + (type == .q4_0 ? 2 : 4)
            let out = u + 32 * b
            #if arch(x86_64)
            UnsafeMutableRawPointer(out).storeBytes(of: ByteDot.nibbles(qs), as: ByteDot.Bytes.self)
            #else
            for j in 0..<16 {
                let q = qs.byte(j)
                out[j] = q & 0x0F
                out[j + 16] = q >> 4
            }
            #endif
            scales[b] = x.half(0)
            mins[b] = type == .q4_1 ? -x.half(2) : 0
        case .q5_0, .q5_1:
            let hasMin = type == .q5_1
            let qh = x.u32(hasMin ? 4 : 2), qs = x + (hasMin ? 8 : 6)
            let out = u + 32 * b
            #if arch(x86_64)
            if !hasMin {
                UnsafeMutableRawPointer(out).storeBytes(of: ByteDot.q5Bytes(x), as: ByteDot.Bytes.self)
            } else {
                decodeQ5(qs, qh, out)
            }
            #else
            decodeQ5(qs, qh, out)
            #endif
            scales[b] = x.half(0)
            mins[b] = hasMin ? -x.half(2) : 0
        case .q4_K, .q5_K:
            let d = x.half(0), dmin = x.half(2)
            let five = type == .q5_K
            let qs = x + (five ? 48 : 16), qh = x + 16
            let out = u + 256 * b
            #if arch(x86_64)
            if !five {
                let mask = _mm256_set1_epi8(0x0F)
                for j in 0..<4 {
                    let q = qs.loadUnaligned(fromByteOffset: 32 * j, as: ByteDot.Bytes.self)
                    let o = UnsafeMutableRawPointer(out + 64 * j)
                    o.storeBytes(of: _mm256_and_si256(q, mask), as: ByteDot.Bytes.self)
                    o.storeBytes(of: _mm256_and_si256(_mm256_srli_epi16(q, 4), mask), toByteOffset: 32, as: ByteDot.Bytes.self)
                }
            } else {
                decodeK4(qs, qh, five, out)
            }
            #else
            decodeK4(qs, qh, five, out)
            #endif
            for s in 0..<8 {
                let (sc, m) = scaleMinK4(s, x + 4)
                scales[8 * b + s] = d * Float(sc)
                mins[8 * b + s] = dmin * Float(m)
            }
        case .q6_K:
            let d = x.half(208)
            let out = u + 256 * b
            #if arch(x86_64)
            for n in 0..<2 {
                let e = ByteDot.q6Quants(x, half: n)
                let o = UnsafeMutableRawPointer(out + 128 * n)
                o.storeBytes(of: e.0, as: ByteDot.Bytes.self)
                o.storeBytes(of: e.1, toByteOffset: 32, as: ByteDot.Bytes.self)
                o.storeBytes(of: e.2, toByteOffset: 64, as: ByteDot.Bytes.self)
                o.storeBytes(of: e.3, toByteOffset: 96, as: ByteDot.Bytes.self)
            }
            #else
            decodeQ6(x, out)
            #endif
            for s in 0..<16 {
                scales[16 * b + s] = d * Float(x.int8(192 + s))
                mins[16 * b + s] = 0
            }
        default:
            preconditionFailure("\(type) has no unsigned form")
        }
    }
}

// Byte by byte: the definitions the x86-64 vector paths above reproduce (and the code that
// runs elsewhere). Elements are stored in order, 32 to a run.

@inline(__always) private func decodeQ5(_ qs: UnsafeRawPointer, _ qh: UInt32, _ out: UnsafeMutablePointer<UInt8>) {
    for j in 0..<16 {
        let q = UInt32(qs.byte(j))
        out[j] = UInt8((q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4))
        out[j + 16] = UInt8((q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4))
    }
}

@inline(__always) private func decodeK4(_ qs: UnsafeRawPointer, _ qh: UnsafeRawPointer, _ five: Bool,
                                        _ out: UnsafeMutablePointer<UInt8>) {
    for j in 0..<4 {
        for l in 0..<32 {
            let q = qs.byte(32 * j + l)
            var lo = q & 0x0F, hi = q >> 4
            if five {
                let h = qh.byte(l)
                lo |= ((h >> UInt8(2 * j)) & 1) << 4
                hi |= ((h >> UInt8(2 * j + 1)) & 1) << 4
            }
            out[64 * j + l] = lo
            out[64 * j + 32 + l] = hi
        }
    }
}

@inline(__always) private func decodeQ6(_ x: UnsafeRawPointer, _ out: UnsafeMutablePointer<UInt8>) {
    for n in 0..<2 {
        let ql = x + 64 * n, qh = x + 128 + 32 * n
        for l in 0..<32 {
            let h = qh.byte(l)
            out[128 * n + l] = (ql.byte(l) & 0x0F) | ((h & 3) << 4)
            out[128 * n + l + 32] = (ql.byte(l + 32) & 0x0F) | (((h >> 2) & 3) << 4)
            out[128 * n + l + 64] = (ql.byte(l) >> 4) | (((h >> 4) & 3) << 4)
            out[128 * n + l + 96] = (ql.byte(l + 32) >> 4) | (((h >> 6) & 3) << 4)
        }
    }
}

/// Activation rows as plain signed bytes (the quants of a `QuantizedActivations`, unchanged),
/// with each block's scale, quant sum and scaled sum (for Q8_0 rows at 32: Q8_1's f16 one) at
/// 16 and at 32 elements per block: what
/// an integer product with `decodeUnsigned` weights needs besides the bytes.
public final class ByteActivations: @unchecked Sendable {
    /// Elements per row.
    public let count: Int
    public let capacity: Int
    /// `[capacity][count]` quants.
    public let qs: UnsafeMutablePointer<Int8>
    private let blockData: UnsafeMutablePointer<Float>
    /// `[capacity][count / 32]`: each 32-block's scale in all eight lanes, so a kernel over
    /// several tokens scales a block's sums with one vector multiply per token.
    private let broadcastData: UnsafeMutablePointer<SIMD8<Float>>

    public init(count: Int, capacity: Int) {
        precondition(count % 32 == 0 && capacity > 0)
        self.count = count
        self.capacity = capacity
        qs = UnsafeMutableRawPointer.allocate(byteCount: count * capacity, alignment: 64)
            .bindMemory(to: Int8.self, capacity: count * capacity)
        // Per row: (scale, sum, scaled sum) for count/16 blocks, then for count/32 blocks.
        let n = 3 * (count / 16 + count / 32) * capacity
        blockData = .allocate(capacity: n)
        blockData.initialize(repeating: 0, count: n)
        broadcastData = .allocate(capacity: count / 32 * capacity)
        broadcastData.initialize(repeating: SIMD8(), count: count / 32 * capacity)
    }

    deinit {
        qs.deallocate()
        blockData.deallocate()
        broadcastData.deallocate()
    }

    /// The per-block values of `row` for blocks of `blockSize` (16 or 32) elements.
    @inline(__always) public func blocks(row: Int, blockSize: Int) -> ActivationBlocks {
        let per16 = count / 16, per32 = count / 32
        let rowBase = blockData + 3 * (per16 + per32) * row
        let (base, nb) = blockSize == 16 ? (rowBase, per16) : (rowBase + 3 * per16, per32)
        return ActivationBlocks(scales: base, sums: UnsafeMutableRawPointer(base + nb).assumingMemoryBound(to: Int32.self),
                                scaledSums: base + 2 * nb, broadcastScales: broadcastData + per32 * row)
    }

    /// Copies row `source` of `a` (Q8_0 or Q8_K, `count` elements) into row `row`.
    public func fill(row: Int, from a: QuantizedActivations, row source: Int) {
        precondition(a.count == count && a.format != .f32 && row < capacity)
        let src = a.qs + source * count, dst = qs + row * count
        let scales = a.scales + source * a.scalesPerRow, perScale = a.format.blockSize
        let b16 = blocks(row: row, blockSize: 16), b32 = blocks(row: row, blockSize: 32)
        for c in 0..<(count / 32) {
            // The source holds each 32 as its 16 even-indexed quants, then its 16 odd-indexed:
            // an even and an odd quant make one little-endian 16-bit pair of bytes in order.
            let even = UnsafeRawPointer(src + 32 * c).loadUnaligned(as: SIMD16<Int16>.self)
            let odd = UnsafeRawPointer(src + 32 * c + 16).loadUnaligned(as: SIMD16<Int16>.self)
            let pairs = SIMD16<UInt16>(truncatingIfNeeded: even) & 0xFF | SIMD16<UInt16>(truncatingIfNeeded: odd) &<< 8
            UnsafeMutableRawPointer(dst + 32 * c).storeBytes(of: pairs, as: SIMD16<UInt16>.self)
            let sums = even &+ odd
            let low = Int32(sums.lowHalf.wrappedSum()), high = Int32(sums.highHalf.wrappedSum())
            let scale = scales[32 * c / perScale]
            b16.set(2 * c, scale: scale, sum: low)
            b16.set(2 * c + 1, scale: scale, sum: high)
            b32.set(c, scale: scale, sum: low &+ high)
            b32.broadcastScales[c] = SIMD8(repeating: scale)
            // Q8_1's f16 sum term, as the minimums of Q4_1 and Q5_1 are multiplied with.
            if a.format == .q8_0 { b32.scaledSums[c] = a.minSums[source * (count / 32) + c] }
        }
    }
}

/// One activation row's per-block values (see `ByteActivations`).
public struct ActivationBlocks {
    public let scales: UnsafeMutablePointer<Float>
    public let sums: UnsafeMutablePointer<Int32>
    public let scaledSums: UnsafeMutablePointer<Float>
    /// Each 32-block's scale in eight lanes (the same for rows viewed at 16 elements).
    public let broadcastScales: UnsafeMutablePointer<SIMD8<Float>>

    @inline(__always) func set(_ b: Int, scale: Float, sum: Int32) {
        scales[b] = scale
        sums[b] = sum
        scaledSums[b] = scale * Float(sum)
    }
}
