import Foundation
import Testing
import TensorFormats

/// Quantizers against gguf Python (Q8_0, Q4_0) and an independent numpy port of
/// quantize_row_q8_K_ref (Q8_K): the bytes must be identical.
@Suite struct QuantizeTests {
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q8_K])
    func matchesReferenceBytes(type: GGMLType) throws {
        let input = try FixtureFiles.floats("quant/input.f32")
        let expected = try FixtureFiles.bytes("quant/\(type).blocks")
        var got = [UInt8](repeating: 0xAA, count: try #require(type.byteCount(elements: input.count)))
        try input.withUnsafeBufferPointer { src in
            try got.withUnsafeMutableBytes { try quantize(type, from: src.baseAddress!, count: input.count, into: $0.baseAddress!) }
        }
        #expect(got.count == expected.count)
        let bad = got.indices.first { got[$0] != expected[$0] }
        #expect(bad == nil, "\(type): first differing byte \(bad ?? -1) (block \((bad ?? 0) / type.blockBytes))")
    }

    /// The fixture's tie block (127 and x.5 values) pins the rounding rule: Q8_0 rounds ties away
    /// from zero (roundf), Q8_K to even (nearest_int).
    @Test func tieRounding() throws {
        var x = [Float](repeating: 0, count: 256)
        x[0] = 127; x[1] = 2.5; x[2] = -3.5; x[3] = 0.5
        var q8 = [UInt8](repeating: 0, count: GGMLType.q8_0.byteCount(elements: 256)!)
        var qk = [UInt8](repeating: 0, count: GGMLType.q8_K.byteCount(elements: 256)!)
        try x.withUnsafeBufferPointer { src in
            try q8.withUnsafeMutableBytes { try quantize(.q8_0, from: src.baseAddress!, count: 256, into: $0.baseAddress!) }
            try qk.withUnsafeMutableBytes { try quantize(.q8_K, from: src.baseAddress!, count: 256, into: $0.baseAddress!) }
        }
        #expect(q8[2...5].map { Int8(bitPattern: $0) } == [127, 3, -4, 1])
        // Q8_K maps the largest value to -127 (d negative), so signs flip.
        #expect(qk[4...7].map { Int8(bitPattern: $0) } == [-127, -2, 4, 0])
    }

    @Test(arguments: [GGMLType.q8_0, .q4_0, .q8_K, .f16, .bf16])
    func roundTripErrorIsWithinHalfAStep(type: GGMLType) throws {
        let input = try FixtureFiles.floats("quant/input.f32")
        var raw = [UInt8](repeating: 0, count: type.byteCount(elements: input.count)!)
        try input.withUnsafeBufferPointer { src in
            try raw.withUnsafeMutableBytes { try quantize(type, from: src.baseAddress!, count: input.count, into: $0.baseAddress!) }
        }
        let back = try dequantized(type, raw, count: input.count)
        let block = type.blockSize == 1 ? 32 : type.blockSize
        let levels: Float = switch type {
        case .q4_0: 8
        case .q8_0, .q8_K: 127
        default: 256  // f16 / bf16: relative bound below
        }
        for start in stride(from: 0, to: input.count, by: block) {
            let range = start..<(start + block)
            let amax = input[range].map(abs).max()!
            for i in range {
                let bound: Float = type == .f16 ? abs(input[i]) * 0x1p-11 + 1e-7
                    : type == .bf16 ? abs(input[i]) * 0x1p-8
                    // Q8_0 stores d as f16 but rounds with the exact 1/d: up to 127 * 2^-11 steps more.
                    : amax / levels * (type == .q8_0 ? 0.5 + 127 * 0x1p-11 : 0.5) * 1.01 + (type == .q4_0 ? amax / 8 * 0.5 : 0)
                #expect(abs(back[i] - input[i]) <= bound, "\(type) element \(i): \(back[i]) vs \(input[i])")
            }
        }
    }

    @Test func activationsRoundTripAndSums() throws {
        let input = try FixtureFiles.floats("quant/input.f32")
        let k = try QuantizedActivations(format: .q8_K, count: input.count)
        input.withUnsafeBufferPointer { k.quantize(row: 0, from: $0.baseAddress!) }
        // The activation quants are the Q8_K block quants.
        var raw = [UInt8](repeating: 0, count: GGMLType.q8_K.byteCount(elements: input.count)!)
        try input.withUnsafeBufferPointer { src in
            try raw.withUnsafeMutableBytes { try quantize(.q8_K, from: src.baseAddress!, count: input.count, into: $0.baseAddress!) }
        }
        #expect(k.values(row: 0) == (try dequantized(.q8_K, raw, count: input.count)))
        // Q8_0 activations are rounded as llama.cpp's CPU backend rounds them (its SIMD
        // quantizer): ties to even and, on x86-64, an inverse scale of 127 / amax. Q8_1's sum
        // term is d · Σq with the unrounded d, rounded to f16.
        let z = try QuantizedActivations(format: .q8_0, count: input.count)
        input.withUnsafeBufferPointer { z.quantize(row: 0, from: $0.baseAddress!) }
        var expected: [Float] = [], expectedSums: [Float] = []
        for b in 0..<(input.count / 32) {
            let block = input[(32 * b)..<(32 * b + 32)]
            let amax = block.map(abs).max()!, d = amax / 127
            #if arch(x86_64)
            let id: Float = amax != 0 ? 127 / amax : 0
            #else
            let id: Float = d != 0 ? 1 / d : 0
            #endif
            let q = block.map { ($0 * id).rounded(.toNearestOrEven) }
            expected += q.map { $0 * Float(Float16(d)) }
            expectedSums.append(Float(Float16(d * q.reduce(0, +))))
        }
        #expect(z.values(row: 0) == expected)
        #expect(Array(UnsafeBufferPointer(start: z.minSums(row: 0), count: input.count / 32)) == expectedSums)
        // The reference quantizer (ties away from zero, 1 / d) differs by at most one step.
        var raw0 = [UInt8](repeating: 0, count: GGMLType.q8_0.byteCount(elements: input.count)!)
        try input.withUnsafeBufferPointer { src in
            try raw0.withUnsafeMutableBytes { try quantize(.q8_0, from: src.baseAddress!, count: input.count, into: $0.baseAddress!) }
        }
        let reference = try dequantized(.q8_0, raw0, count: input.count), ours = z.values(row: 0)
        for i in 0..<input.count where ours[i] != reference[i] {
            let step = Float(Float16(input[(32 * (i / 32))..<(32 * (i / 32) + 32)].map(abs).max()! / 127))
            #expect(abs(ours[i] - reference[i]) == step, "element \(i): \(ours[i]) vs \(reference[i])")
        }
    }
}
