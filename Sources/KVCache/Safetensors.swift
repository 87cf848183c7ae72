import AtomicWrites
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a safetensors file could not be read or written.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    case cannotOpen(path: String, reason: String)
    case truncated(path: String, reason: String)
    case badHeader(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let r): "\(p): cannot open: \(r)"
        case .truncated(let p, let r): "\(p): truncated: \(r)"
        case .badHeader(let p, let r): "\(p): invalid safetensors header: \(r)"
        case .writeFailed(let p, let r): "\(p): write failed: \(r)"
        }
    }
}

/// One tensor of a safetensors file: its dtype name (`F32`, `F16`, `U8`, ...) and byte range
/// within the data section.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    public let range: Range<Int>
}

/// Writes the safetensors layout (an 8-byte little-endian header length, a JSON header, then the
/// tensors back to back) so that any safetensors reader can open the file.
public struct SafetensorsWriter {
    public var metadata: [String: String] = [:]
    private var entries: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])] = []

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    public mutating func add(_ name: String, dtype: String, shape: [Int], bytes: [UInt8]) {
        entries.append((name, dtype, shape, bytes))
    }

    /// The header JSON and the data section; the header is padded with spaces to 8 bytes.
    public func encode() throws -> (header: [UInt8], data: [UInt8]) {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var data: [UInt8] = []
        data.reserveCapacity(entries.reduce(0) { $0 + $1.bytes.count })
        for e in entries {
            header[e.name] = ["dtype": e.dtype, "shape": e.shape, "data_offsets": [data.count, data.count + e.bytes.count]]
            data += e.bytes
        }
        var json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }
        return (json, data)
    }

    /// Writes to a temporary file beside `url`, syncs it, then renames it over `url`: a crash
    /// at any point leaves the old file or the complete new one, never a torn mix.
    public func write(to url: URL) throws {
        let (header, data) = try encode()
        var prefix = [UInt8]()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix += $0 }
        do { try AtomicFile.write([prefix, header, data], to: url) } catch {
            throw SafetensorsError.writeFailed(path: url.path, reason: error.reason)
        }
    }
}

/// A safetensors file opened read-only and memory-mapped.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let metadata: [String: String]
    public let entries: [SafetensorsEntry]
    /// The whole file, mapped; the data section starts at `dataStart`.
    private let file: Data
    private let dataStart: Int
    public var dataCount: Int { file.count - dataStart }
    private let index: [String: Int]

    public init(path: String) throws(SafetensorsError) {
        self.path = path
        let file: Data
        do {
            file = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .cannotOpen(path: path, reason: (error as NSError).localizedDescription)
        }
        guard file.count >= 8 else { throw .truncated(path: path, reason: "\(file.count) bytes, no header length") }
        let headerLength = file.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(file.count - 8) else {
            throw .truncated(path: path, reason: "header of \(headerLength) bytes but the file has \(file.count)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: file.subdata(in: 8..<headerEnd)) as? [String: Any] else {
            throw .badHeader(path: path, reason: "not a JSON object")
        }
        self.file = file
        dataStart = headerEnd
        let dataCount = file.count - headerEnd
        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in json {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw .badHeader(path: path, reason: "__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let t = value as? [String: Any], let dtype = t["dtype"] as? String, let shape = t["shape"] as? [Int],
                  let offsets = t["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1]
            else { throw .badHeader(path: path, reason: "tensor \"\(name)\" lacks dtype, shape or data_offsets") }
            guard offsets[1] <= dataCount else {
                throw .truncated(path: path, reason: "tensor \"\(name)\" ends at byte \(offsets[1]) of a \(dataCount)-byte data section")
            }
            entries.append(SafetensorsEntry(name: name, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1]))
        }
        entries.sort { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(entries, entries.dropFirst()) where a.range.upperBound > b.range.lowerBound {
            throw .badHeader(path: path, reason: "tensors \"\(a.name)\" and \"\(b.name)\" overlap")
        }
        self.metadata = metadata
        self.entries = entries
        self.index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    public func entry(_ name: String) -> SafetensorsEntry? { index[name].map { entries[$0] } }

    public func withBytes<R>(of entry: SafetensorsEntry, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try file.withUnsafeBytes {
            try body(UnsafeRawBufferPointer(rebasing: $0[(dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound)]))
        }
    }

    /// The whole data section, e.g. to verify a checksum over it.
    public func withDataSection<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try file.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[dataStart...])) }
    }
}
