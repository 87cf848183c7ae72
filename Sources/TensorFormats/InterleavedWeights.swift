#if arch(x86_64)
import ByteDotVNNI

/// A copy of a weight matrix in `VNNIInterleaved`'s layout (sixteen rows a group), made at
/// load: decoded tokens then cost a fraction of the instructions of the row-major kernels, and
/// each token's floats are the same alone or beside others. CPUs with AVX-512 VNNI have
/// kernels, and so does the AVX2 baseline (`InterleavedAVX2`, the same floats).
public final class InterleavedWeights: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    /// Blocks a row (of the type's block size: 32, or 256 for the K-quants).
    public let blocks: Int
    private let format: VNNIBlockType
    private let kernels: ByteKernels
    private let packed: UnsafeMutableRawPointer
    /// Bytes of the copy.
    public let byteCount: Int
    /// Rows (whole groups) every group of four tokens passes over before the next rows: about
    /// 256 KiB of weights, which stay in L2 while the tokens take turns. A matrix of a 12B model
    /// is tens of MB, so without this each four tokens would read a thread's whole share again
    /// from L3 or memory.
    public let tileRows: Int

    /// The interleaved copy of `rows` rows of `cols` elements at `base`, or nil where `type` has
    /// no interleaved layout or `kernels` cannot run on this CPU. `copied` is told each range of
    /// source bytes (offsets from `base`) once it is copied, a few MB at a time, so a caller can
    /// let the source go as the copy grows.
    public init?(type: GGMLType, base: UnsafeRawPointer, rowBytes: Int, rows: Int, cols: Int,
                 kernels: ByteKernels = .preferred, copied: ((Range<Int>) -> Void)? = nil) {
        guard kernels.isAvailable, let format = type.interleavedBlockType, cols % type.blockSize == 0, rows > 0 else {
            return nil
        }
        self.kernels = kernels
        self.type = type
        self.rows = rows
        self.format = format
        self.cols = cols
        blocks = cols / type.blockSize
        byteCount = VNNIInterleaved.packedBytes(format, rows: rows, blocks: blocks)
        packed = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        let g = VNNIInterleaved.groupRows
        let groupBytes = max(1, byteCount / ((rows + g - 1) / g))
        tileRows = max(1, (256 << 10) / groupBytes) * g
        let groups = (rows + VNNIInterleaved.groupRows - 1) / VNNIInterleaved.groupRows
        let slice = 256
        for first in stride(from: 0, to: groups, by: slice) {
            let part = first..<min(groups, first + slice)
            InterleavedLayout.repack(format, base: base, rowBytes: rowBytes, rows: rows, blocks: blocks, groups: part,
                                     into: packed)
            copied?((part.lowerBound * g * rowBytes)..<(min(rows, part.upperBound * g) * rowBytes))
        }
    }

    deinit { packed.deallocate() }

    /// Row `r` as floats, exactly as `dequantize` gives it from the file (embedding lookups of
    /// a tied output matrix read the copy, not the file pages it replaced).
    public func decodeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows)
        withUnsafeTemporaryAllocation(byteCount: type.blockBytes, alignment: 8) { block in
            for b in 0..<blocks {
                InterleavedLayout.originalBlock(format, packed: packed, blocks: blocks, row: r, block: b, into: block.baseAddress!)
                // One whole block of a supported type: cannot fail.
                try! dequantize(type, from: block.baseAddress!, count: type.blockSize, into: dst + type.blockSize * b)
            }
        }
    }

    /// Rows a job should take at a time: whole groups.
    public static let groupRows = VNNIInterleaved.groupRows

    /// `y[t * yTokenStride + r * yStride]` = row `r` · token `t` for `r` in `rows` and each
    /// activation row `t` in `tokens` (any number, four at a time).
    public func multiply(rows: Range<Int>, activations a: ByteActivations, tokens: Range<Int>,
                         y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int) {
        precondition(a.count == cols && rows.upperBound <= self.rows)
        let g = VNNIInterleaved.groupRows
        var lo = rows.lowerBound
        while lo < rows.upperBound {
            // Tiles end on group boundaries: a group split between tiles would be computed twice.
            let hi = tokens.count > 4 ? min(rows.upperBound, (lo / g) * g + tileRows) : rows.upperBound
            multiplyTile(rows: lo..<hi, activations: a, tokens: tokens, y: y, yStride: yStride, yTokenStride: yTokenStride)
            lo = hi
        }
    }

    private func multiplyTile(rows: Range<Int>, activations a: ByteActivations, tokens: Range<Int>,
                              y: UnsafeMutablePointer<Float>, yStride: Int, yTokenStride: Int) {
        withUnsafeTemporaryAllocation(of: VNNIToken.self, capacity: 4) { ts in
            var first = tokens.lowerBound
            while first < tokens.upperBound {
                let count = min(4, tokens.upperBound - first)
                for t in 0..<count {
                    let b = a.blocks(row: first + t, blockSize: 32), b16 = a.blocks(row: first + t, blockSize: 16)
                    ts.initializeElement(at: t, to: VNNIToken(qs: a.qs + (first + t) * a.count, scales: b.scales,
                                                              scaledSums: b.scaledSums, sums: b.sums, sums16: b16.sums))
                }
                let tokens = UnsafePointer(ts.baseAddress!), yFirst = y + first * yTokenStride
                if kernels == .avx512VNNI {
                    VNNIInterleaved.rows(format, packed: packed, blocks: blocks, rows: rows, tokens: tokens, count: count,
                                         y: yFirst, yStride: yStride, yTokenStride: yTokenStride)
                } else {
                    InterleavedAVX2.rows(format, packed: packed, blocks: blocks, rows: rows, tokens: tokens, count: count,
                                         y: yFirst, yStride: yStride, yTokenStride: yTokenStride)
                }
                first += count
            }
        }
    }
}
#endif
