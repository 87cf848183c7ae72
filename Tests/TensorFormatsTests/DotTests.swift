import Foundation
import TestSupport
import Testing
import TensorFormats

/// Dot kernels against dequantize-then-dot in Double.
@Suite struct DotTests {
    static let kernelTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// Deterministic pseudo-random floats in -1...1 (no global RNG state in tests).
    static func floats(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s) >> 40) / Float(1 << 23)
        }
    }

    static func dotDouble(_ a: [Float], _ b: [Float]) -> (dot: Double, magnitude: Double) {
        zip(a, b).reduce((0.0, 0.0)) { ($0.0 + Double($1.0) * Double($1.1), $0.1 + abs(Double($1.0) * Double($1.1))) }
    }

    /// Weight rows are the random fixture blocks (every bit pattern of the quants occurs); six
    /// activation rows exercise both the 4-row and the single-row kernels.
    @Test(arguments: kernelTypes)
    func kernelMatchesDequantizedDot(type: GGMLType) throws {
        let blocks = try FixtureFiles.bytes("dequant/\(type).blocks")
        let weights = try FixtureFiles.floats("dequant/\(type).f32")
        // Use the fixture as 2 rows when it splits evenly, to exercise row strides.
        let rows = (weights.count / 2) % type.blockSize == 0 ? 2 : 1
        let cols = weights.count / rows
        let x = Self.floats(cols * 6, seed: UInt64(type.rawValue))
        let format = try #require(type.activationFormat)
        let acts = try QuantizedActivations(format: format, count: cols, capacity: 6)
        for b in 0..<6 { x.withUnsafeBufferPointer { acts.quantize(row: b, from: $0.baseAddress! + b * cols) } }
        var out = [Float](repeating: .nan, count: 6 * rows)
        try blocks.withUnsafeBytes { w in
            try out.withUnsafeMutableBufferPointer { o in
                try matmul(weights: w.baseAddress!, type: type, rows: 0..<rows, input: acts, output: o.baseAddress!, outputStride: rows)
            }
        }
        for b in 0..<6 {
            let qa = acts.values(row: b)
            for r in 0..<rows {
                let wr = Array(weights[(r * cols)..<((r + 1) * cols)])
                // Same quantized activations: only float rounding differs.
                let exact = Self.dotDouble(wr, qa)
                let got = Double(out[b * rows + r])
                #expect(abs(got - exact.dot) <= 1e-5 * exact.magnitude + 1e-30, "\(type) row \(r) batch \(b): \(got) vs \(exact.dot)")
                // Against the float activations: the error of 8-bit activations.
                let real = Self.dotDouble(wr, Array(x[(b * cols)..<((b + 1) * cols)]))
                #expect(abs(got - real.dot) <= 0.01 * real.magnitude, "\(type) vs float activations: \(got) vs \(real.dot)")
            }
        }
    }

    /// Rows longer than the kernels' 64-block chunks (and not a multiple of 8 blocks), built by
    /// repeating the fixture blocks; six activation rows of that length span two of matmul's
    /// activation tiles (4 rows each at this length).
    @Test(arguments: kernelTypes)
    func longRows(type: GGMLType) throws {
        let fixture = try FixtureFiles.bytes("dequant/\(type).blocks")
        let fixtureValues = try FixtureFiles.floats("dequant/\(type).f32")
        let blocks = 150
        let fixtureBlocks = fixture.count / type.blockBytes
        var raw: [UInt8] = []
        var weights: [Float] = []
        for b in 0..<blocks {
            let f = (b * 7) % fixtureBlocks
            raw += fixture[(f * type.blockBytes)..<((f + 1) * type.blockBytes)]
            weights += fixtureValues[(f * type.blockSize)..<((f + 1) * type.blockSize)]
        }
        let cols = blocks * type.blockSize
        let batch = 6
        let acts = try QuantizedActivations(format: try #require(type.activationFormat), count: cols, capacity: batch)
        let x = Self.floats(cols * batch, seed: 11)
        for b in 0..<batch { x.withUnsafeBufferPointer { acts.quantize(row: b, from: $0.baseAddress! + b * cols) } }
        var out = [Float](repeating: .nan, count: batch)
        try raw.withUnsafeBytes { w in
            try out.withUnsafeMutableBufferPointer {
                try matmul(weights: w.baseAddress!, type: type, rows: 0..<1, input: acts, output: $0.baseAddress!, outputStride: 1)
            }
        }
        for b in 0..<batch {
            let exact = Self.dotDouble(weights, acts.values(row: b))
            #expect(abs(Double(out[b]) - exact.dot) <= 1e-5 * exact.magnitude, "\(type) row \(b): \(out[b]) vs \(exact.dot)")
        }
    }

    /// A sub-range of rows and of activation rows lands at the documented output positions.
    @Test func rowAndBatchRangesIndexTheOutput() throws {
        let blocks = try FixtureFiles.bytes("dequant/Q5_0.blocks")  // 24 blocks: 3 rows of 256
        let cols = 256
        let acts = try QuantizedActivations(format: .q8_0, count: cols, capacity: 7)
        let x = Self.floats(cols * 7, seed: 5)
        for b in 0..<7 { x.withUnsafeBufferPointer { acts.quantize(row: b, from: $0.baseAddress! + b * cols) } }
        var full = [Float](repeating: 0, count: 3 * 7)
        var part = [Float](repeating: .nan, count: 3 * 5)
        try blocks.withUnsafeBytes { w in
            try full.withUnsafeMutableBufferPointer {
                try matmul(weights: w.baseAddress!, type: .q5_0, rows: 0..<3, input: acts, output: $0.baseAddress!, outputStride: 3)
            }
            try part.withUnsafeMutableBufferPointer {
                try matmul(weights: w.baseAddress!, type: .q5_0, rows: 1..<3, input: acts, batch: 2..<7,
                           output: $0.baseAddress!, outputStride: 3)
            }
        }
        for b in 2..<7 {
            #expect(part[(b - 2) * 3].isNaN)  // row 0 not computed
            // Same dot products; the 4-row and 1-row kernels may round differently.
            for r in 1..<3 { #expect(abs(part[(b - 2) * 3 + r] - full[b * 3 + r]) <= 1e-5 * max(1, abs(full[b * 3 + r]))) }
        }
    }

    @Test func vecDotEqualsMatmulRow() throws {
        let blocks = try FixtureFiles.bytes("dequant/Q4_K.blocks")
        let acts = try QuantizedActivations(format: .q8_K, count: 1024)
        let x = Self.floats(1024, seed: 7)
        x.withUnsafeBufferPointer { acts.quantize(row: 0, from: $0.baseAddress!) }
        let single = try blocks.withUnsafeBytes { try vecDot(.q4_K, weightRow: $0.baseAddress!, activations: acts) }
        let weights = try FixtureFiles.floats("dequant/Q4_K.f32")
        let exact = Self.dotDouble(weights, acts.values(row: 0))
        #expect(abs(Double(single) - exact.dot) <= 1e-5 * exact.magnitude)
    }

    @Test(arguments: [GGMLType.f32, .f16, .bf16])
    func floatWeights(type: GGMLType) throws {
        let cols = 100  // not a multiple of the vector width: exercises the tail
        let w = Self.floats(2 * cols, seed: 3)
        var raw = [UInt8](repeating: 0, count: type.byteCount(elements: 2 * cols)!)
        try w.withUnsafeBufferPointer { src in
            try raw.withUnsafeMutableBytes { try quantize(type, from: src.baseAddress!, count: 2 * cols, into: $0.baseAddress!) }
        }
        let stored = try dequantized(type, raw, count: 2 * cols)
        let x = Self.floats(cols, seed: 4)
        let acts = try QuantizedActivations(format: .f32, count: cols)
        x.withUnsafeBufferPointer { acts.quantize(row: 0, from: $0.baseAddress!) }
        var out: [Float] = [0, 0]
        try raw.withUnsafeBytes { wp in
            try out.withUnsafeMutableBufferPointer { try matmul(weights: wp.baseAddress!, type: type, rows: 0..<2, input: acts, output: $0.baseAddress!, outputStride: 0) }
        }
        for r in 0..<2 {
            let exact = Self.dotDouble(Array(stored[(r * cols)..<((r + 1) * cols)]), x)
            #expect(abs(Double(out[r]) - exact.dot) <= 1e-5 * exact.magnitude)
        }
    }

    @Test func mismatchedTypeIsRejected() throws {
        let acts = try QuantizedActivations(format: .q8_0, count: 256)
        var out: Float = 0
        let w = [UInt8](repeating: 0, count: 1024)
        #expect(throws: TensorFormatError.unsupported(type: .iq4_nl, tensor: nil)) {
            try w.withUnsafeBytes { try matmul(weights: $0.baseAddress!, type: .iq4_nl, rows: 0..<1, input: acts, output: &out, outputStride: 0) }
        }
    }
}

/// Kernels on rows of the real models' weights (the rows listed in Fixtures/real/rows.json,
/// whose dequantized values come from gguf Python).
@Suite(.computeBound) struct RealModelDotTests {
    @Test(arguments: RealModelDequantizeTests.rows.filter { $0.type != "F32" })
    func kernelOnRealRow(row: RealModelDequantizeTests.Row) throws {
        let type = try #require(GGMLType(name: row.type))
        let raw = try RealModels.read(row.modelName, offset: row.offset, count: try #require(type.byteCount(elements: row.count)))
        let weights = try FixtureFiles.floats("real/\(row.expected)")
        let acts = try QuantizedActivations(format: try #require(type.activationFormat), count: row.count)
        let x = DotTests.floats(row.count, seed: 99)
        x.withUnsafeBufferPointer { acts.quantize(row: 0, from: $0.baseAddress!) }
        let got = try raw.withUnsafeBytes { try vecDot(type, weightRow: $0.baseAddress!, activations: acts) }
        let exact = DotTests.dotDouble(weights, acts.values(row: 0))
        #expect(abs(Double(got) - exact.dot) <= 1e-5 * exact.magnitude, "\(got) vs \(exact.dot)")
    }
}
