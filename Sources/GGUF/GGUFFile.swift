import TensorFormats

/// One tensor's entry in the directory. `shape[0]` is the row length (ggml's `ne0`, contiguous).
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    public let shape: [Int]
    /// Offset from the start of the data section.
    public let relativeOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var rowLength: Int { shape.first ?? 1 }
    public var rowCount: Int { elementCount / rowLength }
    public var rowBytes: Int { byteCount / max(rowCount, 1) }
}

/// A GGUF file opened read-only. Tensor data stays memory-mapped; `data(of:)` hands out pointers
/// into the mapping, valid as long as this object lives.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: GGUFMetadata
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute file offset of the data section.
    public let dataOffset: Int
    private let mapping: MappedFile
    private let index: [String: Int]

    public convenience init(path: String) throws(GGUFError) {
        try self.init(mapping: MappedFile(path: path))
    }

    public init(mapping: MappedFile) throws(GGUFError) {
        let parsed = try Self.parse(mapping.bytes, file: mapping.path)
        self.mapping = mapping
        self.path = mapping.path
        self.version = parsed.version
        self.metadata = parsed.metadata
        self.tensors = parsed.tensors
        self.alignment = parsed.alignment
        self.dataOffset = parsed.dataOffset
        var index: [String: Int] = [:]
        for (i, t) in parsed.tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    public var fileSize: Int { mapping.bytes.count }

    public func tensor(named name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// Lets the system take back the pages of `tensor`'s data, or of the part `bytes` (offsets
    /// into the tensor's data), see `MappedFile.dropPages`.
    public func dropPages(of tensor: GGUFTensorInfo, bytes: Range<Int>? = nil) {
        let start = dataOffset + tensor.relativeOffset
        let part = bytes.map { $0.clamped(to: 0..<tensor.byteCount) } ?? 0..<tensor.byteCount
        mapping.dropPages((start + part.lowerBound)..<(start + part.upperBound))
    }

    /// The tensor's bytes inside the mapping (bounds were checked when the file was opened).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.relativeOffset
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<start + tensor.byteCount])
    }
}
