import Testing
import TensorFormats

/// The fitted Q4_0 quantizer of KV caches against ggml's reference one, block by block.
@Suite struct FittedQuantizeTests {
    /// Deterministic Gaussian-like values with an outlier in every fourth block (keys of real
    /// models have a few large channels).
    static func values(_ n: Int) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
        return (0..<n).map { i in
            let g = (uniform() + uniform() + uniform() + uniform() - 2) * 1.7
            return (i % 128 == 5) ? g * 12 : g
        }
    }

    static func squaredErrors(_ x: [Float], _ blocks: [UInt8]) throws -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        try blocks.withUnsafeBytes { b in try dequantize(.q4_0, from: b.baseAddress!, count: x.count, into: &y) }
        return (0..<(x.count / 32)).map { (b: Int) -> Float in
            var sum: Float = 0
            for i in (32 * b)..<(32 * b + 32) { sum += (x[i] - y[i]) * (x[i] - y[i]) }
            return sum
        }
    }

    @Test func lessErrorThanTheReferenceScale() throws {
        let n = 32 * 4096
        let x = Self.values(n)
        var reference = [UInt8](repeating: 0, count: n / 32 * 18), fitted = reference
        try x.withUnsafeBufferPointer { try quantize(.q4_0, from: $0.baseAddress!, count: n, into: &reference) }
        x.withUnsafeBufferPointer { quantizeQ4_0Fitted(from: $0.baseAddress!, count: n, into: &fitted) }
        let refErrors = try Self.squaredErrors(x, reference), fitErrors = try Self.squaredErrors(x, fitted)
        // Every block at least as good (up to the f16 rounding of its scale), and clearly better
        // overall: the outlier blocks most of all.
        let worse = (0..<refErrors.count).filter { fitErrors[$0] > refErrors[$0] }
        #expect(worse.isEmpty, "\(worse.count) blocks worse, first \(worse.first ?? -1)")
        let refTotal = refErrors.reduce(0, +), fitTotal = fitErrors.reduce(0, +)
        #expect(fitTotal < refTotal, "squared error \(fitTotal) vs reference \(refTotal)")
        // Blocks without an outlier: the reference scale spends levels on the block's maximum
        // that a fitted one spends where the values are.
        let plain = (0..<refErrors.count).filter { $0 % 4 != 0 }
        let refPlain = plain.map { refErrors[$0] }.reduce(0, +), fitPlain = plain.map { fitErrors[$0] }.reduce(0, +)
        print("[fitted q4_0] squared error \(fitTotal) vs reference \(refTotal); blocks without outliers \(fitPlain) vs \(refPlain)")
        #expect(fitPlain < 0.92 * refPlain, "blocks without outliers: \(fitPlain) vs reference \(refPlain)")
    }

    @Test func zeroAndConstantBlocks() throws {
        for value: Float in [0, 1.5, -3] {
            let x = [Float](repeating: value, count: 32)
            var block = [UInt8](repeating: 0xAA, count: 18)
            x.withUnsafeBufferPointer { quantizeQ4_0Fitted(from: $0.baseAddress!, count: 32, into: &block) }
            var y = [Float](repeating: .nan, count: 32)
            try block.withUnsafeBytes { try dequantize(.q4_0, from: $0.baseAddress!, count: 32, into: &y) }
            #expect(y == x, "\(value): \(y)")
        }
    }
}
