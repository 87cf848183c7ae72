import AtomicWrites
import Foundation
import TensorFormats

/// Builds a GGUF file (version 3) in memory: metadata in insertion order, then the tensor
/// directory, then each tensor's bytes at the next aligned offset.
public struct GGUFWriter: Sendable {
    public struct Tensor: Sendable {
        public var name: String
        public var type: GGMLType
        public var shape: [Int]
        public var data: [UInt8]
    }

    public enum WriteError: Error, CustomStringConvertible {
        case sizeMismatch(tensor: String, expected: Int?, actual: Int)
        public var description: String {
            switch self {
            case .sizeMismatch(let t, let expected, let actual):
                "tensor \"\(t)\": shape and type need \(expected.map(String.init) ?? "a whole number of blocks"), got \(actual) bytes"
            }
        }
    }

    public var metadata: GGUFMetadata
    public private(set) var tensors: [Tensor] = []

    public init(metadata: GGUFMetadata = GGUFMetadata()) { self.metadata = metadata }

    public var alignment: Int { metadata.int("general.alignment") ?? GGUFFile.defaultAlignment }

    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], data: [UInt8]) throws {
        let expected = type.byteCount(elements: shape.reduce(1, *))
        guard expected == data.count else { throw WriteError.sizeMismatch(tensor: name, expected: expected, actual: data.count) }
        tensors.append(Tensor(name: name, type: type, shape: shape, data: data))
    }

    public mutating func addTensor(name: String, shape: [Int], floats: [Float]) throws {
        try addTensor(name: name, type: .f32, shape: shape, data: floats.withUnsafeBytes { Array($0) })
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = Array("GGUF".utf8)
        out.append(le: UInt32(3))
        out.append(le: UInt64(tensors.count))
        out.append(le: UInt64(metadata.count))
        for key in metadata.keys {
            let value = metadata[key]!
            out.append(string: key)
            out.append(le: value.type.rawValue)
            out.append(value: value)
        }
        let align = alignment
        var offsets: [Int] = []
        var cursor = 0
        for t in tensors {
            offsets.append(cursor)
            cursor = (cursor + t.data.count + align - 1) / align * align
        }
        for (t, offset) in zip(tensors, offsets) {
            out.append(string: t.name)
            out.append(le: UInt32(t.shape.count))
            for d in t.shape { out.append(le: UInt64(d)) }
            out.append(le: t.type.rawValue)
            out.append(le: UInt64(offset))
        }
        out.pad(to: align)
        for t in tensors {
            out.append(contentsOf: t.data)
            out.pad(to: align)
        }
        return out
    }

    /// Writes the file atomically: a crash leaves either no file or the whole new one.
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(encoded()), to: url)
    }
}

extension [UInt8] {
    mutating func append<T: FixedWidthInteger>(le value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func append(string: String) {
        append(le: UInt64(string.utf8.count))
        append(contentsOf: string.utf8)
    }

    mutating func pad(to alignment: Int) {
        let extra = (alignment - count % alignment) % alignment
        append(contentsOf: repeatElement(0, count: extra))
    }

    mutating func append(value: GGUFValue) {
        switch value {
        case .uint8(let v): append(le: v)
        case .int8(let v): append(le: v)
        case .uint16(let v): append(le: v)
        case .int16(let v): append(le: v)
        case .uint32(let v): append(le: v)
        case .int32(let v): append(le: v)
        case .uint64(let v): append(le: v)
        case .int64(let v): append(le: v)
        case .float32(let v): append(le: v.bitPattern)
        case .float64(let v): append(le: v.bitPattern)
        case .bool(let v): append(le: UInt8(v ? 1 : 0))
        case .string(let s): append(string: s)
        case .array(let type, let items):
            append(le: type.rawValue)
            append(le: UInt64(items.count))
            for item in items { append(value: item) }
        }
    }
}
