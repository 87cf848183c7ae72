import Foundation

/// A value of the TOML subset rdic's config file uses.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case table([String: TOMLValue])

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var tableValue: [String: TOMLValue]? { if case .table(let t) = self { return t } else { return nil } }
    /// Integers and floats both read as numbers (`total = 30` and `total = 30.0` mean the same).
    public var doubleValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .float(let d): return d
        default: return nil
        }
    }
    public var intValue: Int? { if case .integer(let i) = self { return i } else { return nil } }
    public var boolValue: Bool? { if case .boolean(let b) = self { return b } else { return nil } }

    var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .boolean: return "boolean"
        case .table: return "table"
        }
    }
}

/// A syntax error, with the 1-based line it is on.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A parser for the TOML subset the config file needs: `[table]` and `[dotted.table]` headers,
/// `key = value` with bare, quoted and dotted keys, basic ("...") and literal ('...') strings,
/// integers, floats, booleans, and `#` comments. Arrays, inline tables, multi-line strings and
/// dates are rejected with an error naming the line, rather than misread.
///
/// Error messages name the line and never repeat its values, since config lines hold API keys.
///
/// Why not a TOML package: the project's dependency set is fixed, and this subset is small.
public enum TOML {
    public static func parse(_ text: String) throws -> [String: TOMLValue] {
        var root: [String: TOMLValue] = [:]
        var current: [String] = []
        var definedTables: Set<[String]> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var scanner = Scanner(Array(rawLine.unicodeScalars), line: lineNumber)
            scanner.skipSpaces()
            if scanner.atEndOrComment { continue }
            if scanner.peek == "[" {
                scanner.advance()
                if scanner.peek == "[" { throw scanner.error("arrays of tables ([[...]]) are not supported") }
                let path = try scanner.parseKeyPath()
                scanner.skipSpaces()
                guard scanner.peek == "]" else { throw scanner.error("expected ']' to close the table header") }
                scanner.advance()
                try scanner.expectLineEnd()
                guard definedTables.insert(path).inserted else {
                    throw scanner.error("table [\(path.joined(separator: "."))] is defined twice")
                }
                try ensureTable(&root, path: path, line: lineNumber)
                current = path
                continue
            }
            let key = try scanner.parseKeyPath()
            scanner.skipSpaces()
            guard scanner.peek == "=" else { throw scanner.error("expected '=' after key '\(key.joined(separator: "."))'") }
            scanner.advance()
            scanner.skipSpaces()
            let value = try scanner.parseValue()
            try scanner.expectLineEnd()
            try insert(&root, path: current + key, value: value, line: lineNumber)
        }
        return root
    }

    private static func ensureTable(_ table: inout [String: TOMLValue], path: [String], line: Int) throws {
        guard let head = path.first else { return }
        var child: [String: TOMLValue]
        switch table[head] {
        case nil: child = [:]
        case .table(let existing)?: child = existing
        case let other?: throw TOMLError(line: line, message: "'\(head)' is a \(other.typeName), not a table")
        }
        try ensureTable(&child, path: Array(path.dropFirst()), line: line)
        table[head] = .table(child)
    }

    private static func insert(_ table: inout [String: TOMLValue], path: [String], value: TOMLValue, line: Int) throws {
        let head = path[0]
        if path.count == 1 {
            guard table[head] == nil else { throw TOMLError(line: line, message: "key '\(head)' is defined twice") }
            table[head] = value
            return
        }
        var child: [String: TOMLValue]
        switch table[head] {
        case nil: child = [:]
        case .table(let existing)?: child = existing
        case let other?: throw TOMLError(line: line, message: "'\(head)' is a \(other.typeName), not a table")
        }
        try insert(&child, path: Array(path.dropFirst()), value: value, line: line)
        table[head] = .table(child)
    }

    private struct Scanner {
        let chars: [Unicode.Scalar]
        var position = 0
        let line: Int

        init(_ chars: [Unicode.Scalar], line: Int) {
            // A CRLF file leaves "\r" at the end of each line.
            self.chars = chars.last == "\r" ? Array(chars.dropLast()) : chars
            self.line = line
        }

        var peek: Unicode.Scalar? { position < chars.count ? chars[position] : nil }
        var atEndOrComment: Bool { peek == nil || peek == "#" }
        mutating func advance() { position += 1 }
        mutating func skipSpaces() { while peek == " " || peek == "\t" { advance() } }
        func error(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

        mutating func expectLineEnd() throws {
            skipSpaces()
            // Values are never quoted back in messages: this line may hold an API key.
            guard atEndOrComment else { throw error("unexpected text after the value") }
        }

        static func isBare(_ c: Unicode.Scalar) -> Bool {
            ("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == "-"
        }

        mutating func parseKeyPath() throws -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                switch peek {
                case "\"": parts.append(try parseBasicString())
                case "'": parts.append(try parseLiteralString())
                case let c? where Self.isBare(c):
                    var key = ""
                    while let c = peek, Self.isBare(c) { key.unicodeScalars.append(c); advance() }
                    parts.append(key)
                default:
                    throw error("expected a key")
                }
                skipSpaces()
                guard peek == "." else { return parts }
                advance()
            }
        }

        mutating func parseValue() throws -> TOMLValue {
            switch peek {
            case "\"":
                if position + 2 < chars.count, chars[position + 1] == "\"", chars[position + 2] == "\"" {
                    throw error("multi-line strings are not supported")
                }
                return .string(try parseBasicString())
            case "'":
                if position + 2 < chars.count, chars[position + 1] == "'", chars[position + 2] == "'" {
                    throw error("multi-line strings are not supported")
                }
                return .string(try parseLiteralString())
            case "[": throw error("arrays are not supported in rdic's config file")
            case "{": throw error("inline tables are not supported; use a [table] header")
            case nil: throw error("missing value after '='")
            default: break
            }
            var token = ""
            while let c = peek, c != " ", c != "\t", c != "#" { token.unicodeScalars.append(c); advance() }
            switch token {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            case "inf", "+inf": return .float(.infinity)
            case "-inf": return .float(-.infinity)
            case "nan", "+nan", "-nan": return .float(.nan)
            default: break
            }
            let digits = token.replacingOccurrences(of: "_", with: "")
            if digits.hasPrefix("0x"), let value = Int(digits.dropFirst(2), radix: 16) { return .integer(value) }
            if let value = Int(digits) { return .integer(value) }
            if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let value = Double(digits),
               !digits.hasPrefix("."), !digits.hasSuffix(".") {
                return .float(value)
            }
            throw error("invalid value (expected a quoted string, a number or a boolean)")
        }

        mutating func parseLiteralString() throws -> String {
            advance()
            var result = ""
            while let c = peek {
                advance()
                if c == "'" { return result }
                result.unicodeScalars.append(c)
            }
            throw error("unterminated string")
        }

        mutating func parseBasicString() throws -> String {
            advance()
            var result = ""
            while let c = peek {
                advance()
                switch c {
                case "\"": return result
                case "\\":
                    guard let escape = peek else { throw error("unterminated string") }
                    advance()
                    switch escape {
                    case "\"": result += "\""
                    case "\\": result += "\\"
                    case "n": result += "\n"
                    case "t": result += "\t"
                    case "r": result += "\r"
                    case "b": result += "\u{8}"
                    case "f": result += "\u{C}"
                    case "e": result += "\u{1B}"
                    case "u", "U":
                        let count = escape == "u" ? 4 : 8
                        guard position + count <= chars.count,
                              let code = UInt32(String(String.UnicodeScalarView(chars[position..<position + count])), radix: 16),
                              let scalar = Unicode.Scalar(code) else { throw error("invalid \\\(escape) escape") }
                        result.unicodeScalars.append(scalar)
                        position += count
                    default: throw error("invalid escape '\\\(escape)'")
                    }
                default: result.unicodeScalars.append(c)
                }
            }
            throw error("unterminated string")
        }
    }
}
