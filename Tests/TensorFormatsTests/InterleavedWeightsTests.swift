#if arch(x86_64)
import ByteDotVNNI
import Testing
import TensorFormats

/// The interleaved kernels (VNNI, and AVX2 for every layout): each token's floats
/// are the documented arithmetic (`InterleavedReference`)
/// whatever tokens share the call, so both kernel sets give the same bits, and the products
/// are the row-major AVX2 kernels' up to float rounding.
@Suite struct InterleavedWeightsTests {
    /// The kernel sets this CPU can run.
    static let kernels = ByteKernels.allCases.filter(\.isAvailable)
    static let thirtyTwo: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q8_0]

    /// Row `r`'s quant values, block scales and minimums, read from the row-major blocks.
    static func decoded(_ type: GGMLType, _ w: [UInt8], row r: Int, cols: Int) -> (q: [Int32], d: [Float], m: [Float]?) {
        let bb = type.blockBytes, blocks = cols / 32
        var q: [Int32] = [], d: [Float] = [], m: [Float] = []
        func half(_ at: Int) -> Float { Float(Float16(bitPattern: UInt16(w[at]) | UInt16(w[at + 1]) << 8)) }
        for b in 0..<blocks {
            let o = (r * blocks + b) * bb
            d.append(half(o))
            switch type {
            case .q8_0: q += (0..<32).map { Int32(Int8(bitPattern: w[o + 2 + $0])) }
            case .q4_0: q += (0..<32).map { Int32($0 < 16 ? w[o + 2 + $0] & 15 : w[o + 2 + $0 - 16] >> 4) - 8 }
            case .q5_0:
                let high = UInt32(w[o + 2]) | UInt32(w[o + 3]) << 8 | UInt32(w[o + 4]) << 16 | UInt32(w[o + 5]) << 24
                q += (0..<32).map { e in
                    let low = e < 16 ? w[o + 6 + e] & 15 : w[o + 6 + e - 16] >> 4
                    return Int32(low) + Int32((high >> e) & 1) * 16 - 16
                }
            case .q4_1:
                m.append(half(o + 2))
                q += (0..<32).map { Int32($0 < 16 ? w[o + 4 + $0] & 15 : w[o + 4 + $0 - 16] >> 4) }
            default: fatalError("not interleaved: \(type)")
            }
        }
        return (q, d, type == .q4_1 ? m : nil)
    }

    @Test(arguments: thirtyTwo, kernels)
    func eachTokenGetsTheReferenceFloats(_ type: GGMLType, kernels: ByteKernels) throws {
        // Rows: fewer than a group, a group and a part; one block, and many.
        for (rows, cols) in [(5, 32), (37, 576), (16, 1_536)] {
            let tokens = 7, rowBytes = type.byteCount(elements: cols)!
            let w = ByteDotTokensTests.weights(type, rows: rows, cols: cols, seed: UInt64(type.rawValue) * 17 + UInt64(cols))
            let a = try ByteKernelsTests.activations(type, cols: cols, tokens: tokens)
            let packed = try #require(w.withUnsafeBytes {
                InterleavedWeights(type: type, base: $0.baseAddress!, rowBytes: rowBytes, rows: rows, cols: cols, kernels: kernels)
            })
            // Every row range (whole, inside one group, across a group edge) and token group.
            for range in [0..<rows, 1..<min(rows, 4), min(rows, 15)..<rows] where !range.isEmpty {
                for group in [0..<1, 0..<4, 2..<3, 1..<7] {
                    var y = [Float](repeating: .nan, count: tokens * rows)
                    y.withUnsafeMutableBufferPointer {
                        packed.multiply(rows: range, activations: a, tokens: group, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
                    }
                    for t in 0..<tokens {
                        let blocks = a.blocks(row: t, blockSize: 32)
                        let x = (0..<cols).map { a.qs[t * cols + $0] }
                        for r in 0..<rows {
                            let got = y[t * rows + r]
                            guard group.contains(t) && range.contains(r) else {
                                #expect(got.isNaN, "\(type) wrote row \(r) token \(t) outside \(range) \(group)")
                                continue
                            }
                            let (q, d, m) = Self.decoded(type, w, row: r, cols: cols)
                            let want = InterleavedReference.reference(
                                quants: q, d: d, m: m, x: x, scales: (0..<(cols / 32)).map { blocks.scales[$0] },
                                scaledSums: (0..<(cols / 32)).map { blocks.scaledSums[$0] })
                            #expect(got.bitPattern == want.bitPattern, "\(type) \(rows)x\(cols) row \(r) token \(t): \(got) vs \(want)")
                        }
                    }
                }
            }
        }
    }

    /// The largest quants against full-scale activations of both signs: the AVX2 kernels sum
    /// Q4's pair products over a whole block and Q5_0's over half of one in 16 bits, and
    /// multiply Q8_0's -128 as a magnitude; any overflow or saturation would show here.
    @Test(arguments: thirtyTwo, kernels)
    func extremeQuantsSumExactly(_ type: GGMLType, kernels: ByteKernels) throws {
        let rows = 16, cols = 64, rowBytes = type.byteCount(elements: cols)!, bb = type.blockBytes
        var w = [UInt8](repeating: 0, count: rows * rowBytes)
        for r in 0..<rows {
            for b in 0..<(cols / 32) {
                let o = r * rowBytes + b * bb
                w[o] = 0x00; w[o + 1] = 0x3C                       // d = 1
                switch type {
                case .q4_0: for i in 2..<bb { w[o + i] = r % 2 == 0 ? 0xFF : 0x00 }       // all 7, or all -8
                case .q4_1:
                    w[o + 2] = 0x00; w[o + 3] = 0xBC                // m = -1
                    for i in 4..<bb { w[o + i] = 0xFF }                // all 15
                case .q5_0: for i in 2..<bb { w[o + i] = r % 2 == 0 ? 0xFF : 0x00 }       // all 15, or all -16
                default: for i in 2..<bb { w[o + i] = r % 2 == 0 ? 0x80 : 0x7F }          // all -128, or all 127
                }
            }
        }
        // Token 0 all +max, token 1 all -max, token 2 alternating in sign.
        let tokens = 3
        let q = try QuantizedActivations(format: type.activationFormat!, count: cols, capacity: tokens)
        let x = (0..<(tokens * cols)).map { i -> Float in
            let t = i / cols
            return t == 0 ? 1 : t == 1 ? -1 : (i % 2 == 0 ? 1 : -1)
        }
        x.withUnsafeBufferPointer { for t in 0..<tokens { q.quantize(row: t, from: $0.baseAddress! + t * cols) } }
        let a = ByteActivations(count: cols, capacity: tokens)
        for t in 0..<tokens { a.fill(row: t, from: q, row: t) }
        #expect(a.qs[0] == 127 && a.qs[cols] == -127)
        let packed = try #require(w.withUnsafeBytes {
            InterleavedWeights(type: type, base: $0.baseAddress!, rowBytes: rowBytes, rows: rows, cols: cols, kernels: kernels)
        })
        var y = [Float](repeating: .nan, count: tokens * rows)
        y.withUnsafeMutableBufferPointer {
            packed.multiply(rows: 0..<rows, activations: a, tokens: 0..<tokens, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
        }
        for t in 0..<tokens {
            let blocks = a.blocks(row: t, blockSize: 32)
            for r in 0..<rows {
                let (qs, d, m) = Self.decoded(type, w, row: r, cols: cols)
                let want = InterleavedReference.reference(
                    quants: qs, d: d, m: m, x: (0..<cols).map { a.qs[t * cols + $0] },
                    scales: (0..<(cols / 32)).map { blocks.scales[$0] }, scaledSums: (0..<(cols / 32)).map { blocks.scaledSums[$0] })
                #expect(y[t * rows + r].bitPattern == want.bitPattern, "\(type) \(kernels) row \(r) token \(t): \(y[t * rows + r]) vs \(want)")
            }
        }
    }

    @Test(arguments: thirtyTwo, kernels)
    func productsAreTheAVX2KernelsUpToRounding(_ type: GGMLType, kernels: ByteKernels) throws {
        let rows = 48, cols = 1_536, rowBytes = type.byteCount(elements: cols)!
        let w = ByteDotTokensTests.weights(type, rows: rows, cols: cols, seed: 99)
        let a = try ByteKernelsTests.activations(type, cols: cols, tokens: 1)
        var interleaved = [Float](repeating: 0, count: rows), avx2 = interleaved
        try w.withUnsafeBytes { base in
            let packed = try #require(InterleavedWeights(type: type, base: base.baseAddress!, rowBytes: rowBytes, rows: rows, cols: cols,
                                                         kernels: kernels))
            interleaved.withUnsafeMutableBufferPointer {
                packed.multiply(rows: 0..<rows, activations: a, tokens: 0..<1, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
            }
            avx2.withUnsafeMutableBufferPointer {
                ByteDot.rowsAlone(type, base: base.baseAddress!, rowBytes: rowBytes, rows: 0..<rows, activations: a,
                                  tokens: 0..<1, y: $0.baseAddress!, yStride: 1, yTokenStride: rows, kernels: .avx2)
            }
        }
        let scale = avx2.map(abs).max()!
        #expect(scale > 0)
        for r in 0..<rows { #expect(abs(interleaved[r] - avx2[r]) <= scale * 1e-5, "row \(r): \(interleaved[r]) vs \(avx2[r])") }
    }

    @Test(arguments: kernels) func q4KTokensGetTheReferenceFloats(_ kernels: ByteKernels) throws {
        for (rows, cols) in [(5, 256), (37, 512), (16, 1_536)] {
            let tokens = 6, rowBytes = GGMLType.q4_K.byteCount(elements: cols)!, blocks = cols / 256
            let w = ByteDotTokensTests.weights(.q4_K, rows: rows, cols: cols, seed: 41 + UInt64(cols))
            let a = try ByteKernelsTests.activations(.q4_K, cols: cols, tokens: tokens)
            let packed = try #require(w.withUnsafeBytes {
                InterleavedWeights(type: .q4_K, base: $0.baseAddress!, rowBytes: rowBytes, rows: rows, cols: cols, kernels: kernels)
            })
            for range in [0..<rows, min(rows, 15)..<rows] where !range.isEmpty {
                for group in [0..<1, 1..<5, 0..<6] {
                    var y = [Float](repeating: .nan, count: tokens * rows)
                    y.withUnsafeMutableBufferPointer {
                        packed.multiply(rows: range, activations: a, tokens: group, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
                    }
                    for t in 0..<tokens {
                        let xb = a.blocks(row: t, blockSize: 32)
                        for r in 0..<rows {
                            let got = y[t * rows + r]
                            guard group.contains(t) && range.contains(r) else {
                                #expect(got.isNaN)
                                continue
                            }
                            var q: [Int32] = [], sc: [Int32] = [], mn: [Int32] = [], d: [Float] = [], dmin: [Float] = []
                            for b in 0..<blocks {
                                let o = r * rowBytes + b * 144
                                func half(_ at: Int) -> Float { Float(Float16(bitPattern: UInt16(w[at]) | UInt16(w[at + 1]) << 8)) }
                                d.append(half(o))
                                dmin.append(half(o + 2))
                                let p = Array(w[(o + 4)..<(o + 16)])
                                for j in 0..<8 {
                                    sc.append(Int32(j < 4 ? p[j] & 63 : (p[j + 4] & 0x0F) | ((p[j - 4] >> 6) << 4)))
                                    mn.append(Int32(j < 4 ? p[j + 4] & 63 : (p[j + 4] >> 4) | ((p[j] >> 6) << 4)))
                                }
                                for e in 0..<256 {
                                    let byte = w[o + 16 + 32 * (e / 64) + e % 32]
                                    q.append(Int32(e % 64 < 32 ? byte & 15 : byte >> 4))
                                }
                            }
                            let want = InterleavedReference.referenceQ4K(
                                quants: q, scales: sc, mins: mn, d: d, dmin: dmin, x: (0..<cols).map { a.qs[t * cols + $0] },
                                xScales: (0..<blocks).map { xb.scales[8 * $0] }, xSums: (0..<(cols / 32)).map { xb.sums[$0] })
                            #expect(got.bitPattern == want.bitPattern, "Q4_K \(rows)x\(cols) row \(r) token \(t): \(got) vs \(want)")
                        }
                    }
                }
            }
            // And the products are the AVX2 kernels' up to rounding.
            var avx2 = [Float](repeating: 0, count: rows), mine = avx2
            w.withUnsafeBytes { base in
                avx2.withUnsafeMutableBufferPointer {
                    ByteDot.rowsAlone(.q4_K, base: base.baseAddress!, rowBytes: rowBytes, rows: 0..<rows, activations: a,
                                      tokens: 0..<1, y: $0.baseAddress!, yStride: 1, yTokenStride: rows, kernels: .avx2)
                }
            }
            mine.withUnsafeMutableBufferPointer {
                packed.multiply(rows: 0..<rows, activations: a, tokens: 0..<1, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
            }
            let scale = avx2.map(abs).max()!
            for r in 0..<rows { #expect(abs(mine[r] - avx2[r]) <= scale * 1e-5, "Q4_K row \(r): \(mine[r]) vs \(avx2[r])") }
        }
    }

    @Test(arguments: kernels) func q6KTokensGetTheReferenceFloats(_ kernels: ByteKernels) throws {
        for (rows, cols) in [(5, 256), (37, 512)] {
            let tokens = 5, rowBytes = GGMLType.q6_K.byteCount(elements: cols)!, blocks = cols / 256
            let w = ByteDotTokensTests.weights(.q6_K, rows: rows, cols: cols, seed: 43 + UInt64(cols))
            let a = try ByteKernelsTests.activations(.q6_K, cols: cols, tokens: tokens)
            let packed = try #require(w.withUnsafeBytes {
                InterleavedWeights(type: .q6_K, base: $0.baseAddress!, rowBytes: rowBytes, rows: rows, cols: cols, kernels: kernels)
            })
            var y = [Float](repeating: .nan, count: tokens * rows)
            y.withUnsafeMutableBufferPointer {
                packed.multiply(rows: 1..<rows, activations: a, tokens: 0..<tokens, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
            }
            for t in 0..<tokens {
                let xb = a.blocks(row: t, blockSize: 32)
                for r in 0..<rows {
                    let got = y[t * rows + r]
                    guard r > 0 else {
                        #expect(got.isNaN)
                        continue
                    }
                    var q: [Int32] = [], sc: [Int32] = [], d: [Float] = []
                    for b in 0..<blocks {
                        let o = r * rowBytes + b * 210
                        d.append(Float(Float16(bitPattern: UInt16(w[o + 208]) | UInt16(w[o + 209]) << 8)))
                        sc += (0..<16).map { Int32(Int8(bitPattern: w[o + 192 + $0])) }
                        var values = [Int32](repeating: 0, count: 256)
                        for n in 0..<2 {
                            for l in 0..<32 {
                                let ql0 = w[o + 64 * n + l], ql1 = w[o + 64 * n + 32 + l], qh = w[o + 128 + 32 * n + l]
                                values[128 * n + l] = Int32(ql0 & 15 | (qh & 3) << 4) - 32
                                values[128 * n + 32 + l] = Int32(ql1 & 15 | (qh >> 2 & 3) << 4) - 32
                                values[128 * n + 64 + l] = Int32(ql0 >> 4 | (qh >> 4 & 3) << 4) - 32
                                values[128 * n + 96 + l] = Int32(ql1 >> 4 | (qh >> 6 & 3) << 4) - 32
                            }
                        }
                        q += values
                    }
                    let want = InterleavedReference.referenceQ6K(quants: q, scales: sc, d: d, x: (0..<cols).map { a.qs[t * cols + $0] },
                                                            xScales: (0..<blocks).map { xb.scales[8 * $0] })
                    #expect(got.bitPattern == want.bitPattern, "Q6_K \(rows)x\(cols) row \(r) token \(t): \(got) vs \(want)")
                }
            }
            var avx2 = [Float](repeating: 0, count: rows), mine = avx2
            w.withUnsafeBytes { base in
                avx2.withUnsafeMutableBufferPointer {
                    ByteDot.rowsAlone(.q6_K, base: base.baseAddress!, rowBytes: rowBytes, rows: 0..<rows, activations: a,
                                      tokens: 0..<1, y: $0.baseAddress!, yStride: 1, yTokenStride: rows, kernels: .avx2)
                }
            }
            mine.withUnsafeMutableBufferPointer {
                packed.multiply(rows: 0..<rows, activations: a, tokens: 0..<1, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
            }
            let scale = avx2.map(abs).max()!
            for r in 0..<rows { #expect(abs(mine[r] - avx2[r]) <= scale * 1e-5, "Q6_K row \(r): \(mine[r]) vs \(avx2[r])") }
        }
    }

    @Test(arguments: [(GGMLType.q4_0, 96), (.q4_1, 96), (.q5_0, 96), (.q8_0, 96), (.q4_K, 512), (.q6_K, 512)])
    func rowsDecodeAsFromTheFile(_ type: GGMLType, cols: Int) throws {
        let kernels = ByteKernels.avx2
        let rows = 21, rowBytes = type.byteCount(elements: cols)!
        let w = ByteDotTokensTests.weights(type, rows: rows, cols: cols, seed: 7)
        try w.withUnsafeBytes { base in
            let packed = try #require(InterleavedWeights(type: type, base: base.baseAddress!, rowBytes: rowBytes, rows: rows, cols: cols,
                                                         kernels: kernels))
            for r in 0..<rows {
                var want = [Float](repeating: 0, count: cols), got = want
                try want.withUnsafeMutableBufferPointer {
                    try dequantize(type, from: base.baseAddress! + r * rowBytes, count: cols, into: $0.baseAddress!)
                }
                got.withUnsafeMutableBufferPointer { packed.decodeRow(r, into: $0.baseAddress!) }
                #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(type) row \(r)")
            }
        }
    }

    /// A batch crosses a matrix taller than a tile (`tileRows`) tile by tile: every row of every
    /// token is written, with the floats each token gets alone, for a row range that starts and
    /// ends inside groups.
    @Test(arguments: kernels) func tilesCoverEveryRowOnce(_ kernels: ByteKernels) throws {
        let type = GGMLType.q6_K, rows = 600, cols = 2048, tokens = 9
        let rowBytes = type.byteCount(elements: cols)!
        let w = ByteDotTokensTests.weights(type, rows: rows, cols: cols, seed: 11)
        let a = try ByteKernelsTests.activations(type, cols: cols, tokens: tokens)
        let packed = try #require(w.withUnsafeBytes {
            InterleavedWeights(type: type, base: $0.baseAddress!, rowBytes: rowBytes, rows: rows, cols: cols, kernels: kernels)
        })
        #expect(packed.tileRows < 300, "three tiles or more")
        let range = 5..<597
        var batch = [Float](repeating: .nan, count: tokens * rows), alone = batch
        batch.withUnsafeMutableBufferPointer {
            packed.multiply(rows: range, activations: a, tokens: 0..<tokens, y: $0.baseAddress!, yStride: 1, yTokenStride: rows)
        }
        alone.withUnsafeMutableBufferPointer { y in
            for t in 0..<tokens {
                packed.multiply(rows: range, activations: a, tokens: t..<(t + 1), y: y.baseAddress!, yStride: 1, yTokenStride: rows)
            }
        }
        for t in 0..<tokens {
            for r in 0..<rows {
                let got = batch[t * rows + r], want = alone[t * rows + r]
                if range.contains(r) {
                    #expect(!got.isNaN && got.bitPattern == want.bitPattern, "row \(r) token \(t): \(got) vs \(want)")
                } else {
                    #expect(got.isNaN, "row \(r) outside \(range) written")
                }
            }
        }
    }

    @Test func noCopyWithoutALayout() {
        let w = ByteDotTokensTests.weights(.q4_K, rows: 16, cols: 256, seed: 1)
        w.withUnsafeBytes {
            #expect(InterleavedWeights(type: .q5_K, base: $0.baseAddress!, rowBytes: 176, rows: 16, cols: 256) == nil)
            #expect(InterleavedWeights(type: .q4_K, base: $0.baseAddress!, rowBytes: 144, rows: 16, cols: 255) == nil)
        }
    }
}
#endif
