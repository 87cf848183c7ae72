#if arch(x86_64)
import Testing
import TensorFormats

/// The AVX-512 VNNI kernels give the AVX2 kernels' bits, for every type and token count.
@Suite struct ByteKernelsTests {
    /// `tokens` rows of activations whose blocks span six orders of magnitude (so scales and
    /// the rounding of their products vary), quantized for `type`'s kernels.
    static func activations(_ type: GGMLType, cols: Int, tokens: Int) throws -> ByteActivations {
        let a = try QuantizedActivations(format: type.activationFormat!, count: cols, capacity: tokens)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let x = (0..<(tokens * cols)).map { i -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Float(state >> 40) / Float(1 << 24) * 2 - 1
            return unit * [0.001, 0.01, 0.1, 1, 10, 100, 1000][(i / 32) % 7]
        }
        x.withUnsafeBufferPointer { for t in 0..<tokens { a.quantize(row: t, from: $0.baseAddress! + t * cols) } }
        let bytes = ByteActivations(count: cols, capacity: tokens)
        for t in 0..<tokens { bytes.fill(row: t, from: a, row: t) }
        return bytes
    }

    @Test(.enabled(if: ByteKernels.avx512VNNI.isAvailable),
          arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K])
    func vnniGivesTheAVX2Bits(_ type: GGMLType) throws {
        // Rows: one, an odd number (a row left over after the pairs); blocks: fewer than eight,
        // and more than a 64-block table chunk with a partial group of eight at the end.
        let shapes = type.blockSize == 256 ? [(1, 256), (7, 512), (33, 2_560)] : [(1, 96), (7, 512), (33, 2_400)]
        for (rows, cols) in shapes {
            let tokens = 4, rowBytes = type.byteCount(elements: cols)!
            let w = ByteDotTokensTests.weights(type, rows: rows, cols: cols, seed: UInt64(type.rawValue) * 31 + UInt64(cols))
            let bytes = try Self.activations(type, cols: cols, tokens: tokens)
            try w.withUnsafeBytes { base in
                for group in [0..<1, 0..<2, 0..<3, 0..<4, 1..<4, 2..<4, 3..<4] {
                    func run(_ kernels: ByteKernels) -> [UInt32] {
                        var y = [Float](repeating: .nan, count: tokens * rows)
                        y.withUnsafeMutableBufferPointer {
                            ByteDot.rowsAlone(type, base: base.baseAddress!, rowBytes: rowBytes, rows: 0..<rows,
                                              activations: bytes, tokens: group, y: $0.baseAddress!, yStride: 1,
                                              yTokenStride: rows, kernels: kernels)
                        }
                        return group.flatMap { t in y[(t * rows)..<((t + 1) * rows)].map(\.bitPattern) }
                    }
                    let avx2 = run(.avx2), vnni = run(.avx512VNNI)
                    #expect(vnni == avx2, "\(type) \(rows)x\(cols) tokens \(group)")
                    try #require(avx2.allSatisfy { Float(bitPattern: $0).isFinite })
                }
            }
        }
    }

    @Test func environmentPicksTheKernels() {
        let vnni: ByteKernels = ByteKernels.avx512VNNI.isAvailable ? .avx512VNNI : .avx2
        #expect(ByteKernels.choose(environment: "avx2") == .avx2)
        #expect(ByteKernels.choose(environment: "AVX2") == .avx2)
        #expect(ByteKernels.choose(environment: nil) == vnni)
        #expect(ByteKernels.choose(environment: "avx512-vnni") == vnni)
        #expect(ByteKernels.choose(environment: "AVX512-VNNI") == vnni)
        #expect(ByteKernels.choose(environment: "fastest please") == vnni)
        #expect(ByteKernels.avx2.isAvailable)
    }
}
#endif
