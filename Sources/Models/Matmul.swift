/// Matrix products against weights in the file.
///
/// Rows are decoded a tile at a time into per-thread scratch memory and multiplied with every
/// activation vector of the batch, so a prefill batch decodes each weight row once.
extension WeightMatrix {
    /// Rows decoded together: enough to reuse each activation vector from cache, few enough
    /// that the tile stays in L1/L2.
    static let tileRows = 8

    /// `y[t][r] = dot(row r, x[t])` for `t` in `0..<n`, with `x` laid out `[n][cols]` (stride
    /// `xStride`) and `y` laid out `[n][rows]` (stride `yStride`), for the rows in `rowRange`.
    func multiply(_ x: UnsafePointer<Float>, xStride: Int, n: Int,
                  into y: UnsafeMutablePointer<Float>, yStride: Int,
                  rowRange: Range<Int>? = nil, pool: ThreadPool, scratch: Scratch) {
        let range = rowRange ?? 0..<rows
        let tile = WeightMatrix.tileRows
        let cols = self.cols
        pool.parallelFor(range.count, minChunk: tile) { chunk, worker in
            let buf = scratch.buffer(worker)
            var r0 = range.lowerBound + chunk.lowerBound
            let end = range.lowerBound + chunk.upperBound
            while r0 < end {
                let tr = min(tile, end - r0)
                for j in 0..<tr { decodeRow(r0 + j, into: buf + j * cols) }
                for t in 0..<n {
                    let xt = x + t * xStride
                    let yt = y + t * yStride + (r0 - range.lowerBound)
                    for j in 0..<tr { yt[j] = dot(buf + j * cols, xt, cols) }
                }
                r0 += tr
            }
        }
    }
}

/// Per-thread scratch buffers, grown on demand and reused across calls.
public final class Scratch: @unchecked Sendable {
    private var buffers: [UnsafeMutablePointer<Float>]
    public let floatsPerThread: Int

    public init(threads: Int, floatsPerThread: Int) {
        self.floatsPerThread = floatsPerThread
        buffers = (0..<threads).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: floatsPerThread)
            p.initialize(repeating: 0, count: floatsPerThread)
            return p
        }
    }

    deinit { for b in buffers { b.deallocate() } }

    @inline(__always) public func buffer(_ worker: Int) -> UnsafeMutablePointer<Float> { buffers[worker] }
}
