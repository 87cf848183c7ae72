import Foundation
import Testing
import TensorFormats
import TestSupport

/// Dequantizers against the `gguf` Python package: every value must match to the bit.
@Suite struct DequantizeTests {
    static let fixtureTypes: [GGMLType] = [.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    @Test(arguments: fixtureTypes)
    func randomBlocksMatchGGUFPython(type: GGMLType) throws {
        let blocks = try FixtureFiles.bytes("dequant/\(type).blocks")
        let expected = try FixtureFiles.floats("dequant/\(type).f32")
        #expect(blocks.count == type.byteCount(elements: expected.count))
        let got = try dequantized(type, blocks, count: expected.count)
        let bad = firstBitMismatch(got, expected)
        #expect(bad == nil, "\(type) element \(bad ?? -1): \(bad.map { got[$0] } ?? 0) vs \(bad.map { expected[$0] } ?? 0)")
    }

    @Test func q8KIsScaleTimesQuant() throws {
        // Q8_K has no Python dequantizer: build a block by hand. d = 0.5, q = -128...127.
        var block = [UInt8](repeating: 0, count: 292)
        withUnsafeBytes(of: Float(0.5).bitPattern.littleEndian) { block.replaceSubrange(0..<4, with: $0) }
        for i in 0..<256 { block[4 + i] = UInt8(truncatingIfNeeded: i - 128) }
        let got = try dequantized(.q8_K, block, count: 256)
        #expect(got == (0..<256).map { Float($0 - 128) * 0.5 })
    }

    @Test func halfConversionIsExactForEveryPattern() {
        for bits in 0...UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let ours = halfToFloat(bits)
            if reference.isNaN {
                #expect(ours.isNaN)
            } else if ours.bitPattern != reference.bitPattern {
                Issue.record("half \(bits): \(ours) vs \(reference)")
                return
            }
        }
    }

    @Test func f32IsCopied() throws {
        let values: [Float] = [1, -2.5, .infinity, 0x1p-140]
        let raw = values.withUnsafeBytes { [UInt8]($0) }
        #expect(try dequantized(.f32, raw, count: 4) == values)
    }

    @Test func unsupportedTypeIsNamed() {
        let raw = [UInt8](repeating: 0, count: 256)
        #expect(throws: TensorFormatError.unsupported(type: .iq2_xxs, tensor: nil)) {
            _ = try dequantized(.iq2_xxs, raw, count: 256)
        }
        let named = TensorFormatError.unsupported(type: .iq2_xxs, tensor: nil).naming(tensor: "blk.0.ffn_up.weight")
        #expect(named.description == "tensor 'blk.0.ffn_up.weight' has type IQ2_XXS, which rdic cannot compute with")
        #expect(!GGMLType.iq2_xxs.canDequantize && GGMLType.q4_K.canDequantize)
    }

    @Test func partialBlocksAreRejected() {
        let raw = [UInt8](repeating: 0, count: 144)
        #expect(throws: TensorFormatError.notWholeBlocks(type: .q4_K, count: 100)) {
            _ = try dequantized(.q4_K, raw, count: 100)
        }
    }
}

/// Rows of the real models' tensors, dequantized, against gguf Python's dequantization of the
/// same bytes (recorded with their file offsets in Fixtures/real/rows.json).
@Suite(.computeBound) struct RealModelDequantizeTests {
    struct Row: Decodable, CustomTestStringConvertible, Sendable {
        let model, file, tensor, type: String
        let row, offset, count: Int
        let expected: String
        var testDescription: String { "\(tensor) row \(row) (\(type))" }
        var modelName: TestModels.Name { TestModels.Name(rawValue: model)! }
    }

    static let rows: [Row] = (try? JSONDecoder().decode([Row].self, from: Data(contentsOf: FixtureFiles.url("real/rows.json")))) ?? []

    @Test func fixtureListsTheModelTypes() {
        #expect(Set(Self.rows.map(\.type)) == ["Q8_0", "Q5_0", "Q4_K", "Q6_K", "F32", "Q4_1"])
    }

    @Test(arguments: rows)
    func rowMatchesGGUFPython(row: Row) throws {
        let type = try #require(GGMLType(name: row.type))
        let byteCount = try #require(type.byteCount(elements: row.count))
        let raw = try RealModels.read(row.modelName, offset: row.offset, count: byteCount)
        let expected = try FixtureFiles.floats("real/\(row.expected)")
        let got = try dequantized(type, raw, count: row.count)
        #expect(firstBitMismatch(got, expected) == nil)
    }
}
