import TensorFormats

/// A bounds-checked cursor over the header bytes. Every read either succeeds inside the buffer
/// or throws `truncated`, so a malformed file can never make the reader touch memory past its end.
struct HeaderCursor {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var offset = 0

    var remaining: Int { bytes.count - offset }

    func fail(_ problem: GGUFError.Problem) -> GGUFError { GGUFError(file: file, problem) }

    mutating func take(_ count: Int, _ what: String) throws(GGUFError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw fail(.truncated(offset: offset, needed: count, what: what))
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws(GGUFError) -> T {
        let raw = try take(MemoryLayout<T>.size, what)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    /// Reads an element count and checks that `count` elements of at least `minBytes` each fit
    /// in what is left of the file, so an absurd count fails at once instead of allocating.
    mutating func count(_ what: String, minBytes: Int) throws(GGUFError) -> Int {
        let start = offset
        let raw = try read(UInt64.self, what)
        guard raw <= UInt64(remaining / max(minBytes, 1)) else {
            offset = start
            throw fail(.implausibleCount(what: what, count: raw))
        }
        return Int(raw)
    }

    mutating func string(_ what: String) throws(GGUFError) -> String {
        let length = try count("\(what) length", minBytes: 1)
        let start = offset
        let raw = try take(length, what)
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail(.invalidUTF8(offset: start)) }
        return s
    }

    static let maxNesting = 4

    mutating func value(_ type: UInt32, key: String, depth: Int = 0) throws(GGUFError) -> GGUFValue {
        guard let t = GGUFValueType(rawValue: type) else { throw fail(.unknownValueType(type, key: key)) }
        switch t {
        case .uint8: return .uint8(try read(UInt8.self, key))
        case .int8: return .int8(try read(Int8.self, key))
        case .uint16: return .uint16(try read(UInt16.self, key))
        case .int16: return .int16(try read(Int16.self, key))
        case .uint32: return .uint32(try read(UInt32.self, key))
        case .int32: return .int32(try read(Int32.self, key))
        case .uint64: return .uint64(try read(UInt64.self, key))
        case .int64: return .int64(try read(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, key)))
        case .bool: return .bool(try read(UInt8.self, key) != 0)
        case .string: return .string(try string(key))
        case .array:
            guard depth < Self.maxNesting else { throw fail(.nestingTooDeep(key: key)) }
            let elementRaw = try read(UInt32.self, "\(key) element type")
            guard let elementType = GGUFValueType(rawValue: elementRaw) else {
                throw fail(.unknownValueType(elementRaw, key: key))
            }
            let n = try count("\(key) array length", minBytes: Self.minimumBytes(of: elementType))
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(elementRaw, key: key, depth: depth + 1)) }
            return .array(elementType, items)
        }
    }

    static func minimumBytes(of type: GGUFValueType) -> Int {
        switch type {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}

extension GGUFFile {
    static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment = 32
    static let maxDimensions = 4

    /// Parses header, metadata and tensor directory, checking every count, offset and size.
    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws(GGUFError)
        -> (version: UInt32, metadata: GGUFMetadata, tensors: [GGUFTensorInfo], alignment: Int, dataOffset: Int)
    {
        var c = HeaderCursor(bytes: bytes, file: file)
        let magicBytes = Array(try c.take(4, "magic"))
        guard magicBytes == magic else {
            throw c.fail(.notGGUF(magic: magicBytes.map { String(format2: $0) }.joined(separator: " ")))
        }
        let version = try c.read(UInt32.self, "version")
        if version > 0xFFFF, version.byteSwapped <= 3 { throw c.fail(.bigEndian) }
        guard version == 2 || version == 3 else { throw c.fail(.unsupportedVersion(version)) }

        // A tensor record takes at least 4+8+4+8+8 bytes, a key-value pair at least 8+4+1.
        let tensorCount = try c.count("tensor count", minBytes: 32)
        let kvCount = try c.count("metadata count", minBytes: 13)

        var metadata = GGUFMetadata()
        for _ in 0..<kvCount {
            let key = try c.string("metadata key")
            let type = try c.read(UInt32.self, "type of \(key)")
            let value = try c.value(type, key: key)
            guard metadata[key] == nil else { throw c.fail(.duplicateKey(key)) }
            metadata[key] = value
        }

        var alignment = defaultAlignment
        if let value = metadata["general.alignment"] {
            guard let a = value.int, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw c.fail(.badAlignment(value.int ?? -1))
            }
            alignment = a
        }

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(tensorCount)
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let name = try c.string("tensor name")
            guard names.insert(name).inserted else { throw c.fail(.duplicateTensor(name)) }
            let dims = try c.read(UInt32.self, "dimension count of \(name)")
            guard dims <= maxDimensions else {
                throw c.fail(.invalidShape(tensor: name, shape: [], reason: "\(dims) dimensions (at most \(maxDimensions))"))
            }
            var shape: [UInt64] = []
            for _ in 0..<dims { shape.append(try c.read(UInt64.self, "shape of \(name)")) }
            let typeRaw = try c.read(UInt32.self, "type of \(name)")
            guard let type = GGMLType(rawValue: typeRaw) else { throw c.fail(.unknownTensorType(typeRaw, tensor: name)) }
            let offset = try c.read(UInt64.self, "data offset of \(name)")
            let elements = try elementCount(shape, type: type, name: name, file: file)
            guard offset % UInt64(alignment) == 0 else {
                throw c.fail(.misalignedTensor(tensor: name, offset: offset, alignment: alignment))
            }
            guard let byteCount = type.byteCount(elements: elements) else {
                throw c.fail(.invalidShape(tensor: name, shape: shape, reason: "size overflows"))
            }
            tensors.append(GGUFTensorInfo(name: name, type: type, shape: shape.map { Int($0) },
                                          relativeOffset: Int(clamping: offset), byteCount: byteCount))
        }

        let headerEnd = c.offset
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        let available = max(0, bytes.count - dataOffset)
        for t in tensors where t.relativeOffset > available || t.byteCount > available - t.relativeOffset {
            throw c.fail(.tensorOutOfFile(tensor: t.name, start: UInt64(t.relativeOffset), bytes: t.byteCount, available: available))
        }
        let sorted = tensors.sorted { $0.relativeOffset < $1.relativeOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.relativeOffset + a.byteCount > b.relativeOffset {
            throw c.fail(.tensorsOverlap(a.name, b.name))
        }
        return (version, metadata, tensors, alignment, dataOffset)
    }

    /// Element count of a shape, rejecting zero-sized rows, rows that are not whole blocks, and overflow.
    static func elementCount(_ shape: [UInt64], type: GGMLType, name: String, file: String) throws(GGUFError) -> Int {
        func bad(_ reason: String) -> GGUFError { GGUFError(file: file, .invalidShape(tensor: name, shape: shape, reason: reason)) }
        var total: UInt64 = 1
        for d in shape {
            guard d > 0 else { throw bad("zero-sized dimension") }
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= UInt64(Int.max) else { throw bad("element count overflows") }
            total = product
        }
        if let rowLength = shape.first, rowLength % UInt64(type.blockSize) != 0 {
            throw bad("row length \(rowLength) is not a multiple of the \(type) block size \(type.blockSize)")
        }
        return Int(total)
    }
}

extension String {
    init(format2 byte: UInt8) {
        let hex = String(byte, radix: 16)
        self = hex.count == 1 ? "0" + hex : hex
    }
}
