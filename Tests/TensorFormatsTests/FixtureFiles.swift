import Foundation
import TensorFormats

/// Reads the fixtures made by scripts/gen_tensorformats_fixtures.py (gguf Python package output).
enum FixtureFiles {
    static func url(_ relative: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(relative)
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(relative)))
    }

    /// A file of little-endian float32 values.
    static func floats(_ relative: String) throws -> [Float] {
        let raw = try bytes(relative)
        return stride(from: 0, to: raw.count, by: 4).map { i in
            Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
        }
    }
}

/// Where the real models are. Until TestSupport's `TestModels` lands, the one place that knows:
/// `RDIC_TEST_MODELS_DIR`, default /tmp/models.
enum RealModels {
    static var directory: String { ProcessInfo.processInfo.environment["RDIC_TEST_MODELS_DIR"] ?? "/tmp/models" }
    static func path(_ file: String) -> String { directory + "/" + file }
    static var available: Bool {
        FileManager.default.fileExists(atPath: path("gemma-3-270m-q4_k_m.gguf"))
            && FileManager.default.fileExists(atPath: path("SmolLM2-135M-Instruct.Q4_1.gguf"))
    }

    /// `count` bytes of a model file from `offset`.
    static func read(_ file: String, offset: Int, count: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path(file)))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        return [UInt8](try handle.read(upToCount: count) ?? Data())
    }
}

/// Dequantizes a byte array (test convenience).
func dequantized(_ type: GGMLType, _ blocks: [UInt8], count: Int) throws -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    try blocks.withUnsafeBytes { src in
        try out.withUnsafeMutableBufferPointer { dst in
            try dequantize(type, from: src.baseAddress!, count: count, into: dst.baseAddress!)
        }
    }
    return out
}

/// Index of the first element whose bit pattern differs, or nil.
func firstBitMismatch(_ a: [Float], _ b: [Float]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
}
