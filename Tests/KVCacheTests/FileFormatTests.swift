import Foundation
import KVCache
import Testing

@Suite struct XXH64Tests {
    /// Values from the reference implementation (python `xxhash.xxh64(...).hexdigest()`).
    @Test func referenceVectors() {
        #expect(XXH64.hash([UInt8]()) == 0xef46_db37_51d8_e999)
        #expect(XXH64.hash(Array("a".utf8)) == 0xd24e_c4f1_a98c_6e5b)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44bc_2cf5_ad77_0999)
        #expect(XXH64.hash(Array(String(repeating: "0123456789", count: 10).utf8)) == 0xf80e_7b96_315a_fffa)
        let bytes = (0..<3).flatMap { _ in (0...255).map(UInt8.init) } + Array("xyz".utf8)
        #expect(XXH64.hash(bytes) == 0xe921_a1b4_5bd7_79f8)
    }

    @Test func everyBitFlipChangesTheHash() {
        var bytes = (0..<97).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let original = XXH64.hash(bytes)
        for i in 0..<bytes.count * 8 {
            bytes[i / 8] ^= 1 << UInt8(i % 8)
            #expect(XXH64.hash(bytes) != original)
            bytes[i / 8] ^= 1 << UInt8(i % 8)
        }
    }
}

@Suite struct SafetensorsTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")

    func sample() -> SafetensorsWriter {
        var w = SafetensorsWriter(metadata: ["format": "rdic-test", "note": "héllo"])
        w.add("layer.0.k", dtype: "F32", shape: [2, 3], bytes: [Float](arrayLiteral: 1, 2, 3, 4, 5, 6).withUnsafeBytes { Array($0) })
        w.add("layer.0.v", dtype: "U8", shape: [5], bytes: [9, 8, 7, 6, 5])
        return w
    }

    @Test func roundTripAndLayout() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("s.safetensors")
        try sample().write(to: url)
        let raw = try [UInt8](Data(contentsOf: url))
        // The layout the safetensors spec defines: u64 LE header size, JSON header, data.
        let n = Int(raw[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect(n % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: Data(raw[8..<8 + n])) as! [String: Any]
        #expect((header["layer.0.k"] as! [String: Any])["data_offsets"] as! [Int] == [0, 24])
        #expect((header["layer.0.v"] as! [String: Any])["data_offsets"] as! [Int] == [24, 29])
        #expect(raw.count == 8 + n + 29)

        let file = try SafetensorsFile(path: url.path)
        #expect(file.metadata == ["format": "rdic-test", "note": "héllo"])
        #expect(file.entries.map(\.name) == ["layer.0.k", "layer.0.v"])
        let k = try #require(file.entry("layer.0.k"))
        #expect(k.shape == [2, 3])
        #expect(file.withBytes(of: k) { Array($0.bindMemory(to: Float.self)) } == [1, 2, 3, 4, 5, 6])
        #expect(file.withBytes(of: file.entry("layer.0.v")!) { Array($0) } == [9, 8, 7, 6, 5])
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["s.safetensors"])
    }

    @Test func truncatedAndGarbageFilesAreRefused() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("s.safetensors")
        try sample().write(to: url)
        let raw = try [UInt8](Data(contentsOf: url))
        for length in [0, 5, 8, 20, raw.count - 1] {
            let cut = dir.appendingPathComponent("cut\(length)")
            try Data(raw[..<length]).write(to: cut)
            #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: cut.path) }
        }
        let garbage = dir.appendingPathComponent("garbage")
        try Data((0..<64).map { _ in UInt8.random(in: 0...255) } + [UInt8](repeating: 0xff, count: 8)).write(to: garbage)
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: garbage.path) }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: dir.appendingPathComponent("missing").path) }
    }

    /// Replacing a file is atomic: the old content stays readable until the new one is complete.
    @Test func overwriteReplacesWholeFile() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("s.safetensors")
        try sample().write(to: url)
        var second = SafetensorsWriter(metadata: ["format": "v2"])
        second.add("x", dtype: "U8", shape: [1], bytes: [1])
        try second.write(to: url)
        #expect(try SafetensorsFile(path: url.path).metadata == ["format": "v2"])
    }
}
