import AtomicWrites
import Foundation

/// Reading and writing JSON Lines files, with the line number of a bad line in the error.
public enum JSONLines {
    public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws(IFEvalError) -> [T] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw IFEvalError("cannot read \(url.path): \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw IFEvalError("\(url.path) is not UTF-8 text")
        }
        return try decode(type, text: text, source: url.path)
    }

    public static func decode<T: Decodable>(_ type: T.Type, text: String, source: String = "input") throws(IFEvalError) -> [T] {
        let decoder = JSONDecoder()
        var values: [T] = []
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            do {
                values.append(try decoder.decode(T.self, from: Data(trimmed.utf8)))
            } catch {
                throw IFEvalError("\(source) line \(index + 1): \(describe(error))")
            }
        }
        return values
    }

    public static func encode<T: Encodable>(_ values: [T]) throws(IFEvalError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines: [String] = []
        for value in values {
            do {
                lines.append(String(decoding: try encoder.encode(value), as: UTF8.self))
            } catch {
                throw IFEvalError("cannot encode a result: \(error)")
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    public static func write<T: Encodable>(_ values: [T], to url: URL) throws(IFEvalError) {
        let text = try encode(values)
        do {
            try AtomicFile.write(Data(text.utf8), to: url)
        } catch {
            throw IFEvalError("cannot write \(url.path): \(error.reason)")
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): "not valid JSON (\(context.debugDescription))"
        default: "\(error)"
        }
    }
}
