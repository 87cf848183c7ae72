import Foundation
import TensorFormats
import TestSupport

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

/// Reads rows of the real models, found through TestSupport's `TestModels`.
enum RealModels {
    /// `count` bytes of a model file from `offset`.
    static func read(_ model: TestModels.Name, offset: Int, count: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: try TestModels.path(for: model)))
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
