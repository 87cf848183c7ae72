/// Activations prepared for the dot-product kernels.
///
/// ggml multiplies a quantized weight row with activations quantized on the fly to 8 bits
/// (Q8_0 for the 32-element formats, Q8_1 for those with a minimum, Q8_K for the K-quants), so
/// that the inner loop is an integer multiply-add. The rounding is its CPU backend's (see
/// `quantizeQ8_0ActivationLanes`); Q8_1 is Q8_0 plus each block's `minSums`. `QuantizedActivations` holds such rows in a kernel-friendly layout:
/// the quants already widened to 16 bits and split, per 32 elements, into the 16 even-indexed
/// then the 16 odd-indexed ones (the order in which the kernels unpack weight bytes, so the
/// widening is paid once per activation row instead of once per weight row); scales as `Float`;
/// and the per-group sums the kernels need for offsets and minimums.

/// How activations must be prepared for a weight type.
public enum ActivationFormat: Sendable, Equatable, CustomStringConvertible {
    /// Plain floats (for F32, F16 and BF16 weights).
    case f32
    /// 32-element blocks, scale = amax / 127 rounded to f16 as in ggml's block_q8_0, plus the
    /// sum of each block's quants.
    case q8_0
    /// 256-element blocks as ggml's block_q8_K, plus the sum of each 16 quants.
    case q8_K

    /// Elements per block (the row length must be a multiple).
    public var blockSize: Int {
        switch self {
        case .f32: 1
        case .q8_0: 32
        case .q8_K: 256
        }
    }

    public var description: String {
        switch self {
        case .f32: "F32"
        case .q8_0: "Q8_0"
        case .q8_K: "Q8_K"
        }
    }
}

extension GGMLType {
    /// The activation format the dot kernels for this weight type take, or nil when there is no
    /// kernel for it.
    public var activationFormat: ActivationFormat? {
        switch self {
        case .f32, .f16, .bf16: .f32
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: .q8_0
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: .q8_K
        default: nil
        }
    }
}

/// A batch of activation rows in one `ActivationFormat`, owning its memory.
///
/// Allocate once per shape and refill with `quantize(row:from:)`; kernels only read it, so
/// many threads may share one instance while no thread writes to it (hence `@unchecked
/// Sendable`: the engine orders writes before the parallel reads).
public final class QuantizedActivations: @unchecked Sendable {
    public let format: ActivationFormat
    /// Elements per row.
    public let count: Int
    /// Rows allocated.
    public let capacity: Int

    /// .q8_0/.q8_K: `count` quants per row as Int16, even/odd split per 32. Aligned to 64 bytes.
    let qs: UnsafeMutablePointer<Int16>
    /// .q8_0: one scale per 32; .q8_K: one per 256; .f32: the values themselves.
    let scales: UnsafeMutablePointer<Float>
    /// .q8_0: sum of the quants of each 32-block; .q8_K: of each 16.
    let sums: UnsafeMutablePointer<Int32>
    /// .q8_0: each block's d · Σq rounded to f16, Q8_1's `s` (what llama.cpp multiplies Q4_1
    /// and Q5_1 minimums with).
    let minSums: UnsafeMutablePointer<Float>

    /// Kernel constants kept in memory so that the optimizer cannot fold them into worse code:
    /// [0] the nibble mask of `splitNibbles`, [1...2] the shifts and multiplier of `q5HighBits`.
    let kernelConstants: UnsafeMutablePointer<SIMD16<UInt16>>

    var scalesPerRow: Int { format == .f32 ? count : count / format.blockSize }
    var sumsPerRow: Int {
        switch format {
        case .f32: 0
        case .q8_0: count / 32
        case .q8_K: count / 16
        }
    }

    /// Room for `capacity` rows of `count` elements (a multiple of the format's block size).
    public init(format: ActivationFormat, count: Int, capacity: Int = 1) throws(TensorFormatError) {
        guard count > 0, count % format.blockSize == 0, capacity > 0 else {
            throw .notWholeBlocks(type: format == .q8_K ? .q8_K : .q8_0, count: count)
        }
        self.format = format
        self.count = count
        self.capacity = capacity
        let qsCount = max(format == .f32 ? 0 : count * capacity, 32)
        qs = UnsafeMutableRawPointer.allocate(byteCount: 2 * qsCount, alignment: 64).bindMemory(to: Int16.self, capacity: qsCount)
        // 8 entries of padding: the kernels load scales and sums 8 at a time and mask the lanes
        // past the end of a row.
        let nScales = (format == .f32 ? count : count / format.blockSize) * capacity + 8
        scales = UnsafeMutableRawPointer.allocate(byteCount: 4 * nScales, alignment: 64).bindMemory(to: Float.self, capacity: nScales)
        scales.initialize(repeating: 0, count: nScales)
        let nSums = (format == .f32 ? 0 : (format == .q8_0 ? count / 32 : count / 16)) * capacity + 8
        sums = UnsafeMutablePointer<Int32>.allocate(capacity: nSums)
        sums.initialize(repeating: 0, count: nSums)
        let nMinSums = (format == .q8_0 ? count / 32 : 0) * capacity + 8
        minSums = .allocate(capacity: nMinSums)
        minSums.initialize(repeating: 0, count: nMinSums)
        kernelConstants = UnsafeMutablePointer<SIMD16<UInt16>>.allocate(capacity: 3)
        kernelConstants.initialize(to: SIMD16<UInt16>(repeating: 0x0F0F))
        (kernelConstants + 1).initialize(to: unsafeBitCast(SIMD8<UInt32>(0, 4, 8, 12, 16, 20, 24, 28), to: SIMD16<UInt16>.self))
        (kernelConstants + 2).initialize(to: unsafeBitCast(SIMD8<UInt32>(repeating: 0x0020_4081), to: SIMD16<UInt16>.self))
    }

    deinit {
        qs.deallocate()
        scales.deallocate()
        sums.deallocate()
        minSums.deallocate()
        kernelConstants.deallocate()
    }

    /// Quantizes `count` floats from `x` into row `row` (`0..<capacity`).
    public func quantize(row: Int, from x: UnsafePointer<Float>) {
        precondition(row >= 0 && row < capacity, "activation row \(row) out of 0..<\(capacity)")
        let q = qs + row * count
        let s = scales + row * scalesPerRow
        let sum = sums + row * sumsPerRow
        switch format {
        case .f32:
            s.update(from: x, count: count)
        case .q8_0:
            let minSum = minSums + row * (count / 32)
            for b in 0..<count / 32 {
                let (d, exactD, lanes) = quantizeQ8_0ActivationLanes(x + 32 * b)
                s[b] = halfToFloat(d)
                sum[b] = (lanes.0 &+ lanes.1 &+ lanes.2 &+ lanes.3).wrappedSum()
                minSum[b] = halfToFloat(floatToHalf(exactD * Float(sum[b])))
                storeSplit(lanes, q + 32 * b)
            }
        case .q8_K:
            withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { tmp in
                let t = tmp.baseAddress!
                for b in 0..<count / 256 {
                    s[b] = quantizeQ8_KBlock(x + 256 * b, into: t) { g, total in sum[16 * b + g] = total }
                    for c in 0..<8 { splitInt8(t + 32 * c, q + 256 * b + 32 * c) }
                }
            }
        }
    }

    /// Widens 32 quants into the even/odd split layout.
    @inline(__always) private func splitInt8(_ src: UnsafePointer<Int8>, _ dst: UnsafeMutablePointer<Int16>) {
        for k in 0..<16 {
            dst[k] = Int16(src[2 * k])
            dst[16 + k] = Int16(src[2 * k + 1])
        }
    }

    /// Q8_1's sum term of each 32-block of `row` (.q8_0 rows only).
    public func minSums(row: Int) -> UnsafePointer<Float> {
        precondition(format == .q8_0 && row >= 0 && row < capacity)
        return UnsafePointer(minSums + row * (count / 32))
    }

    /// Row `row` dequantized (what the kernels actually multiply with), for tests and debugging.
    public func values(row: Int) -> [Float] {
        precondition(row >= 0 && row < capacity)
        let s = scales + row * scalesPerRow
        switch format {
        case .f32: return Array(UnsafeBufferPointer(start: s, count: count))
        case .q8_0, .q8_K:
            let q = qs + row * count
            return (0..<count).map { i in
                let (chunk, j) = (i / 32, i % 32)
                return Float(q[32 * chunk + (j % 2) * 16 + j / 2]) * s[i / format.blockSize]
            }
        }
    }
}
