import Testing
import TensorFormats

/// `decodeUnsigned` (the weight form of the x86-64 integer prefill product) against the `gguf`
/// Python package's values: `scale * (u - offset) - min` must equal them to the bit, and every
/// `u` must lie within the layout's range (the kernel's 16-bit sums depend on it).
@Suite struct UnsignedBlocksTests {
    static let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    @Test(arguments: types)
    func reconstructsTheReferenceValues(type: GGMLType) throws {
        let layout = try #require(type.unsignedLayout)
        let blocks = try FixtureFiles.bytes("dequant/\(type).blocks")
        let expected = try FixtureFiles.floats("dequant/\(type).f32")
        let n = expected.count, nb = n / layout.blockSize
        var u = [UInt8](repeating: 0xFF, count: n)
        var scales = [Float](repeating: .nan, count: nb), mins = [Float](repeating: .nan, count: nb)
        blocks.withUnsafeBytes { src in
            decodeUnsigned(type, from: src.baseAddress!, count: n, u: &u, scales: &scales, mins: &mins)
        }
        #expect(u.allSatisfy { Int($0) <= layout.maxValue })
        if !layout.hasMin { #expect(mins.allSatisfy { $0 == 0 }) }
        let bad = (0..<n).first { i in
            let b = i / layout.blockSize
            let value = scales[b] * Float(Int32(u[i]) - layout.offset) - mins[b]
            return value.bitPattern != expected[i].bitPattern && !(value.isNaN && expected[i].isNaN)
        }
        #expect(bad == nil, "\(type) element \(bad ?? -1)")
    }

    @Test func formatsWithoutAnUnsignedForm() {
        for type in [GGMLType.q8_0, .q2_K, .q3_K, .f16, .f32] { #expect(type.unsignedLayout == nil) }
    }
}
