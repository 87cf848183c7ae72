import AtomicWrites
import Foundation

/// Why a dataset file could not be read or written.
public enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(String)
    case unreadable(String, String)
    case syntax(path: String, line: Int?, message: String)
    case invalidRecord(path: String, index: Int, message: String)
    case writeFailed(String, String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file"
        case .unreadable(let path, let why): return "\(path): \(why)"
        case .syntax(let path, let line, let message):
            return "\(path)\(line.map { ":\($0)" } ?? ""): not valid JSON (\(message))"
        case .invalidRecord(let path, let index, let message): return "\(path): record \(index): \(message)"
        case .writeFailed(let path, let why): return "cannot write \(path): \(why)"
        }
    }
}

/// Reading and writing dataset files: a JSON array (`.json`, like `batch_001.json`) or one
/// record per line (`.jsonl`); a file holding a single record object is read as one record. The layout is detected when reading and chosen by extension when
/// writing; writes are atomic (temporary file, then rename), so a crash never leaves half a file.
public enum DatasetFile {
    public enum Layout: Sendable { case array, lines }

    /// `.jsonl` / `.ndjson` are written one record per line, everything else as an array.
    public static func layout(for url: URL) -> Layout {
        ["jsonl", "ndjson"].contains(url.pathExtension.lowercased()) ? .lines : .array
    }

    /// The raw JSON value of every record, in file order.
    public static func readValues(_ url: URL) throws -> [JSONValue] {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw DatasetError.notFound(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError.unreadable(path, "cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw DatasetError.unreadable(path, "not UTF-8 text") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return [] }
        if trimmed.hasPrefix("[") {
            do {
                guard case .array(let values) = try JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)) else {
                    throw DatasetError.syntax(path: path, line: nil, message: "expected an array")
                }
                return values
            } catch let error as DatasetError { throw error } catch {
                throw DatasetError.syntax(path: path, line: nil, message: syntaxMessage(error, text: trimmed))
            }
        }
        // One pretty-printed record is a file too (a one-line JSONL file decodes the same way).
        if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)), value.objectValue != nil {
            return [value]
        }
        var values: [JSONValue] = []
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let record = line.trimmingCharacters(in: .whitespaces)
            if record.isEmpty { continue }
            do { values.append(try JSONDecoder().decode(JSONValue.self, from: Data(record.utf8))) } catch {
                throw DatasetError.syntax(path: path, line: offset + 1, message: syntaxMessage(error, text: record))
            }
        }
        return values
    }

    /// Typed records; throws on the first record whose shape is wrong (run the validator for a
    /// full report).
    public static func read(_ url: URL) throws -> [ConflictRecord] {
        try readValues(url).enumerated().map { index, value in
            let problems = RecordShape.problems(value)
            if let first = problems.first { throw DatasetError.invalidRecord(path: url.path, index: index, message: first) }
            return try decode(value)
        }
    }

    public static func decode(_ value: JSONValue) throws -> ConflictRecord {
        try JSONDecoder().decode(ConflictRecord.self, from: JSONEncoder().encode(value))
    }

    /// Deterministic bytes: the same records always give the same file (see `JSONValue.fieldOrder`).
    public static func encode(_ records: [some Encodable], layout: Layout) throws -> Data {
        let encoder = JSONEncoder()
        let values = try records.map { try JSONDecoder().decode(JSONValue.self, from: encoder.encode($0)) }
        switch layout {
        case .array: return Data((JSONValue.array(values).serialized(pretty: true) + "\n").utf8)
        case .lines: return Data(values.map { $0.serialized(pretty: false) + "\n" }.joined().utf8)
        }
    }

    public static func write(_ records: [some Encodable], to url: URL, layout: Layout? = nil) throws {
        try writeAtomically(encode(records, layout: layout ?? self.layout(for: url)), to: url)
    }

    /// Readers (and a crash) see the old file or the new one, never a part.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        do { try AtomicFile.write(data, to: url) } catch { throw DatasetError.writeFailed(url.path, error.reason) }
    }

    private static func syntaxMessage(_ error: Error, text: String) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return "\(error)"
    }
}
