import Foundation
import GGUF
import TensorFormats
import Testing

/// Files written by `GGUFWriter` read back identically: every value type, nested arrays,
/// custom alignment and tensor data.
@Suite struct WriterRoundTripTests {
    static func sampleMetadata(alignment: UInt32 = 32) -> GGUFMetadata {
        var m = GGUFMetadata()
        m["general.architecture"] = .string("llama")
        m["general.alignment"] = .uint32(alignment)
        m["u8"] = .uint8(200)
        m["i8"] = .int8(-100)
        m["u16"] = .uint16(60_000)
        m["i16"] = .int16(-30_000)
        m["u32"] = .uint32(4_000_000_000)
        m["i32"] = .int32(-2_000_000_000)
        m["u64"] = .uint64(18_000_000_000_000_000_000)
        m["i64"] = .int64(-9_000_000_000_000_000_000)
        m["f32"] = .float32(1.5)
        m["f64"] = .float64(-2.25e-300)
        m["flag"] = .bool(true)
        m["unicode"] = .string("héllo ▁ 世界 🙂")
        m["empty"] = .array(.int32, [])
        m["nested"] = .array(.array, [.array(.string, [.string("a"), .string("")]), .array(.float32, [.float32(3)])])
        return m
    }

    static func sampleFile(alignment: UInt32 = 32) throws -> GGUFWriter {
        var w = GGUFWriter(metadata: sampleMetadata(alignment: alignment))
        try w.addTensor(name: "a", shape: [4, 3], floats: (0..<12).map(Float.init))
        try w.addTensor(name: "b.q8", type: .q8_0, shape: [64], data: (0..<68).map { UInt8($0) })
        try w.addTensor(name: "c", shape: [1], floats: [42])
        return w
    }

    @Test(arguments: [UInt32(32), 64, 1, 4096])
    func roundTrip(alignment: UInt32) throws {
        let writer = try Self.sampleFile(alignment: alignment)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rt-\(UUID()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url)
        let file = try GGUFFile(path: url.path)
        #expect(file.metadata == writer.metadata)
        #expect(file.metadata.keys == writer.metadata.keys)
        #expect(file.alignment == Int(alignment))
        #expect(file.tensors.map(\.name) == ["a", "b.q8", "c"])
        #expect(file.tensors.map(\.shape) == [[4, 3], [64], [1]])
        for (t, expected) in zip(file.tensors, writer.tensors) {
            #expect(Array(file.data(of: t)) == expected.data)
            #expect((file.dataOffset + t.relativeOffset) % Int(alignment) == 0)
        }
        let a = file.data(of: file.tensor(named: "a")!).bindMemory(to: Float.self)
        #expect(Array(a) == (0..<12).map(Float.init))
    }

    @Test func typedAccessors() throws {
        let m = Self.sampleMetadata()
        #expect(m.int("u64") == nil) // 1.8e19 does not fit in Int
        #expect(m.int("i64") == -9_000_000_000_000_000_000)
        #expect(m.double("f32") == 1.5)
        #expect(m.string("unicode") == "héllo ▁ 世界 🙂")
        #expect(m.bool("flag") == true)
        #expect(m.ints("empty") == [])
    }

    @Test func writerRejectsWrongDataSize() {
        var w = GGUFWriter()
        #expect(throws: GGUFWriter.WriteError.self) {
            try w.addTensor(name: "x", type: .q4_0, shape: [32], data: [UInt8](repeating: 0, count: 17))
        }
    }
}
