import Testing
import TensorFormats

/// `addScaled` against dequantize-then-accumulate, which it must equal exactly.
@Suite struct AccumulateTests {
    @Test(arguments: [GGMLType.f16, .q8_0, .q4_0, .f32])
    func equalsDequantizeThenAdd(type: GGMLType) throws {
        let raw: [UInt8]
        let count: Int
        if type == .f32 {
            let values = DotTests.floats(100, seed: 8)  // not a multiple of 8: exercises the tail
            raw = values.withUnsafeBytes { [UInt8]($0) }
            count = values.count
        } else {
            raw = try FixtureFiles.bytes("dequant/\(type).blocks")
            count = try FixtureFiles.floats("dequant/\(type).f32").count
        }
        let values = try dequantized(type, raw, count: count)
        let start = DotTests.floats(count, seed: 9)
        let scale: Float = -0.37
        var acc = start
        try raw.withUnsafeBytes { r in
            try acc.withUnsafeMutableBufferPointer { try addScaled(type, row: r.baseAddress!, count: count, scale: scale, into: $0.baseAddress!) }
        }
        let expected = zip(start, values).map { $0 + scale * $1 }
        let bad = firstBitMismatch(acc, expected)
        #expect(bad == nil, "\(type) element \(bad ?? -1)")
    }

    @Test func unsupportedType() {
        var acc = [Float](repeating: 0, count: 256)
        let raw = [UInt8](repeating: 0, count: 256)
        #expect(throws: TensorFormatError.unsupported(type: .q4_K, tensor: nil)) {
            try raw.withUnsafeBytes { r in
                try acc.withUnsafeMutableBufferPointer { try addScaled(.q4_K, row: r.baseAddress!, count: 256, scale: 1, into: $0.baseAddress!) }
            }
        }
    }
}

/// `addScaledRows` against one `addScaled` call per row with a non-zero weight.
@Suite struct AccumulateRowsTests {
    @Test(arguments: [GGMLType.f16, .q8_0, .q4_0])
    func equalsOneCallPerRow(type: GGMLType) throws {
        let raw = try FixtureFiles.bytes("dequant/\(type).blocks")
        let count = 64, rowBytes = count / type.blockSize * type.blockBytes
        let rows = raw.count / rowBytes
        try #require(rows >= 3, "the fixture holds \(rows) rows of \(count)")
        var weights = DotTests.floats(rows, seed: 4)
        weights[1] = 0  // skipped: a masked key's weight
        let start = DotTests.floats(count, seed: 5)
        var batched = start, perRow = start
        try raw.withUnsafeBytes { r in
            try batched.withUnsafeMutableBufferPointer { acc in
                try weights.withUnsafeBufferPointer { w in
                    try addScaledRows(type, base: r.baseAddress!, rowStride: rowBytes, rows: rows, count: count,
                                      weights: w.baseAddress!, into: acc.baseAddress!)
                }
            }
            try perRow.withUnsafeMutableBufferPointer { acc in
                for u in 0..<rows where weights[u] != 0 {
                    try addScaled(type, row: r.baseAddress! + u * rowBytes, count: count, scale: weights[u], into: acc.baseAddress!)
                }
            }
        }
        let bad = firstBitMismatch(batched, perRow)
        #expect(bad == nil, "\(type) element \(bad ?? -1)")
        #expect(batched != start)
    }
}
