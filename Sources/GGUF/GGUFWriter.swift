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

    /// A tensor's directory entry: what a file says about it before its bytes.
    public struct TensorHeader: Sendable, Equatable {
        public var name: String
        public var type: GGMLType
        public var shape: [Int]

        public init(name: String, type: GGMLType, shape: [Int]) {
            self.name = name
            self.type = type
            self.shape = shape
        }

        /// Bytes of its data (nil when the shape is not whole blocks of the type).
        public var byteCount: Int? { type.byteCount(elements: shape.reduce(1, *)) }
    }

    public func encoded() -> [UInt8] {
        var out = header(tensors.map { TensorHeader(name: $0.name, type: $0.type, shape: $0.shape) })
        for t in tensors {
            out.append(contentsOf: t.data)
            out.pad(to: alignment)
        }
        return out
    }

    /// Magic, counts, metadata and the tensor directory, padded to where the first tensor's
    /// bytes start.
    private func header(_ tensors: [TensorHeader]) -> [UInt8] {
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
        var cursor = 0
        for t in tensors {
            out.append(string: t.name)
            out.append(le: UInt32(t.shape.count))
            for d in t.shape { out.append(le: UInt64(d)) }
            out.append(le: t.type.rawValue)
            out.append(le: UInt64(cursor))
            cursor = (cursor + (t.byteCount ?? 0) + align - 1) / align * align
        }
        out.pad(to: align)
        return out
    }

    /// Writes a file whose tensors are too large to hold in memory together, atomically: this
    /// writer's metadata, then `tensors` (this writer's own are not written), tensor `i`'s bytes
    /// made by `data(i)` when its turn comes. The metadata and `tensors` must describe whole
    /// blocks; each `data(i)` must have its tensor's `byteCount` (checked before anything is
    /// written, and for each tensor as it is made).
    public func write(to url: URL, tensors: [TensorHeader], data: @escaping (Int) -> [UInt8]) throws {
        for t in tensors where t.byteCount == nil {
            throw WriteError.sizeMismatch(tensor: t.name, expected: nil, actual: 0)
        }
        let align = alignment
        let head = header(tensors)
        // Index -1 is the header; the rest are made one at a time as the writer reaches them.
        let parts = (-1..<tensors.count).lazy.map { i -> [UInt8] in
            guard i >= 0 else { return head }
            var bytes = data(i)
            precondition(bytes.count == tensors[i].byteCount, "tensor \(tensors[i].name): \(bytes.count) bytes made, \(tensors[i].byteCount!) described")
            bytes.pad(to: align)
            return bytes
        }
        try AtomicFile.write(parts, to: url)
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
