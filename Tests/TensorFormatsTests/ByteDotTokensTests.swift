#if arch(x86_64)
import Testing
import TensorFormats

/// `ByteDot.rowsAlone` gives each of up to four rows exactly the floats `ByteDot.rows` gives
/// it as a token alone, for every type with a byte kernel.
@Suite struct ByteDotTokensTests {
    /// Weight blocks of random bytes with every f16 scale set to a finite value.
    static func weights(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let blocks = rows * cols / type.blockSize, bb = type.blockBytes
        var bytes = (0..<(blocks * bb)).map { _ in UInt8(truncatingIfNeeded: next()) }
        let scaleOffsets: [Int] = switch type {
        case .q4_1, .q4_K: [0, 2]
        case .q6_K: [208]
        default: [0]
        }
        for b in 0..<blocks {
            for o in scaleOffsets {
                let h = Float16(Float(next() % 1000) / 50_000 + 0.001).bitPattern
                bytes[b * bb + o] = UInt8(h & 0xFF)
                bytes[b * bb + o + 1] = UInt8(h >> 8)
            }
        }
        return bytes
    }

    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K])
    func rowsAloneMatchOneToken(_ type: GGMLType) throws {
        let rows = 24, cols = 512, tokens = 4
        let w = Self.weights(type, rows: rows, cols: cols, seed: UInt64(type.rawValue) + 1)
        let format = type.activationFormat!
        let a = try QuantizedActivations(format: format, count: cols, capacity: tokens)
        let x = (0..<(tokens * cols)).map { Float(($0 * 7919) % 201) / 50 - 2 }
        x.withUnsafeBufferPointer { for t in 0..<tokens { a.quantize(row: t, from: $0.baseAddress! + t * cols) } }
        let bytes = ByteActivations(count: cols, capacity: tokens)
        for t in 0..<tokens { bytes.fill(row: t, from: a, row: t) }
        w.withUnsafeBytes { base in
            var alone = [Float](repeating: 0, count: tokens * rows)
            alone.withUnsafeMutableBufferPointer { y in
                for t in 0..<tokens {
                    ByteDot.rows(type, base: base.baseAddress!, rowBytes: type.byteCount(elements: cols)!, rows: 0..<rows,
                                 cols: cols, x: bytes.qs + t * cols, blocks: bytes.blocks(row: t, blockSize: 32),
                                 blocks16: bytes.blocks(row: t, blockSize: 16), y: y.baseAddress! + t * rows, yStride: 1)
                }
            }
            for group in [0..<4, 0..<3, 1..<3, 3..<4] {
                var together = [Float](repeating: .nan, count: tokens * rows)
                together.withUnsafeMutableBufferPointer { y in
                    ByteDot.rowsAlone(type, base: base.baseAddress!, rowBytes: type.byteCount(elements: cols)!, rows: 0..<rows,
                                      activations: bytes, tokens: group, y: y.baseAddress!, yStride: 1, yTokenStride: rows)
                }
                for t in group {
                    #expect(Array(together[(t * rows)..<((t + 1) * rows)]) == Array(alone[(t * rows)..<((t + 1) * rows)]),
                            "\(type) tokens \(group), token \(t)")
                }
                #expect(alone.allSatisfy { $0.isFinite })
            }
        }
    }
}
#endif
