import Foundation
import KVCache
import Testing

/// Attention's products over runs of `q4` rows (`scoreRows`, `accumulateRows`), on the x86-64
/// kernels and the portable ones, against `dot` and the dequantized rows: for 1 to 6 query
/// heads (every register tile and a split into two), rows picked out of order from a strided
/// buffer, as a `KVBlock` holds them.
@Suite struct Q4RowKernelsTests {
    struct Case {
        let rows: Q4Rows
        let count: Int
        let stride: Int
        let bytes: [UInt8]
        let slots: [Int32]

        init(_ rows: Q4Rows, count: Int, tokens: Int, seed: UInt64) {
            let stride = rows.rowBytes(count) + 6  // a KV head's row inside a longer token row
            var buffer = [UInt8](repeating: 0xA5, count: tokens * stride)
            let x = Q4RowsTests.gaussian(tokens * count, seed: seed)
            buffer.withUnsafeMutableBytes { b in
                x.withUnsafeBufferPointer { x in
                    for t in 0..<tokens { rows.quantize(x.baseAddress! + t * count, count: count, into: b.baseAddress! + t * stride) }
                }
            }
            self.rows = rows
            self.count = count
            self.stride = stride
            bytes = buffer
            slots = (0..<tokens).filter { $0 % 3 != 1 }.reversed().map { Int32($0) }
        }

        func dequantized(_ slot: Int32) -> [Float] {
            var row = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { rows.dequantize($0.baseAddress! + Int(slot) * stride, count: count, into: &row) }
            return row
        }
    }

    static let cases = [Case(Q4Rows(groupSize: 64, levels: .uniform), count: 64, tokens: 40, seed: 1),
                        Case(Q4Rows(groupSize: 64, levels: .uniform), count: 256, tokens: 12, seed: 2),
                        Case(Q4Rows(groupSize: 32, levels: .gaussian), count: 128, tokens: 9, seed: 3),
                        Case(Q4Rows(groupSize: 128, levels: .gaussian), count: 256, tokens: 5, seed: 4)]

    @Test(arguments: 1...6)
    func scoresAreDotProducts(_ heads: Int) {
        for k in Self.cases {
            let n = k.count, c = k.slots.count, stride = c + 3
            var qx = [Int8](repeating: 0, count: heads * n), qs = [Float](repeating: 0, count: heads * n / 32)
            for h in 0..<heads {
                let q = Q4RowsTests.gaussian(n, seed: 100 + UInt64(h))
                qx.withUnsafeMutableBufferPointer { x in
                    qs.withUnsafeMutableBufferPointer { s in
                        Q4Rows.quantizeQuery(q, count: n, into: x.baseAddress! + h * n, scales: s.baseAddress! + h * n / 32)
                    }
                }
            }
            var fast = [Float](repeating: .nan, count: heads * stride), portable = fast
            k.bytes.withUnsafeBytes { b in
                let base = b.baseAddress!
                k.rows.scoreRows(base, rowStride: k.stride, slots: k.slots, c, count: n, heads: heads, x: qx, scales: qs,
                                 scale: 0.125, into: &fast, stride: stride)
                k.rows.portableScoreRows(base, rowStride: k.stride, slots: k.slots, c, count: n, heads: heads, x: qx, scales: qs,
                                         scale: 0.125, into: &portable, stride: stride)
                for h in 0..<heads {
                    for u in 0..<c {
                        let expected = 0.125 * qx.withUnsafeBufferPointer { x in
                            qs.withUnsafeBufferPointer { s in
                                k.rows.dot(base + Int(k.slots[u]) * k.stride, count: n, x: x.baseAddress! + h * n,
                                           scales: s.baseAddress! + h * n / 32)
                            }
                        }
                        #expect(fast[h * stride + u] == expected, "\(k.rows) heads \(heads) row \(u) head \(h)")
                        #expect(abs(portable[h * stride + u] - expected) <= 1e-4 * max(1, abs(expected)))
                    }
                }
            }
        }
    }

    @Test(arguments: 1...6)
    func accumulatesWeightedRows(_ heads: Int) {
        for k in Self.cases {
            let n = k.count, c = k.slots.count, stride = c + 5
            let weights = Q4RowsTests.gaussian(heads * stride, seed: 7).map { abs($0) }
            let start = Q4RowsTests.gaussian(heads * n, seed: 8)
            var expected = start.map(Double.init)
            for u in 0..<c {
                let row = k.dequantized(k.slots[u])
                for h in 0..<heads {
                    for j in 0..<n { expected[h * n + j] += Double(weights[h * stride + u]) * Double(row[j]) }
                }
            }
            var fast = start, portable = start
            k.bytes.withUnsafeBytes { b in
                k.rows.accumulateRows(b.baseAddress!, rowStride: k.stride, slots: k.slots, c, count: n, heads: heads,
                                      weights: weights, stride: stride, into: &fast)
                k.rows.portableAccumulateRows(b.baseAddress!, rowStride: k.stride, slots: k.slots, c, count: n, heads: heads,
                                              weights: weights, stride: stride, into: &portable)
            }
            for j in 0..<(heads * n) {
                #expect(abs(Double(fast[j]) - expected[j]) <= 1e-4 * max(1, abs(expected[j])), "\(k.rows) heads \(heads) at \(j)")
                #expect(abs(Double(portable[j]) - expected[j]) <= 1e-4 * max(1, abs(expected[j])), "\(k.rows) heads \(heads) at \(j)")
            }
            #if arch(x86_64)
            // Same products and sums in the same order: a q4 cache's floats do not depend on the path.
            #expect(fast == portable, "\(k.rows) heads \(heads)")
            #endif
        }
    }
}
