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
