import Foundation

/// Any JSON value, for checking a record's shape before decoding it, so that errors can name
/// the exact field ("turns[2].query: missing") instead of a decoder's coding path.
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The JSON type name, for messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let value): return value == value.rounded() ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    public var objectValue: [String: JSONValue]? { if case .object(let value) = self { return value } else { return nil } }
    public var stringValue: String? { if case .string(let value) = self { return value } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let value) = self { return value } else { return nil } }

    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

extension JSONValue {
    /// The order fields are written in: a record reads top-down (id, type, turns, metadata) and
    /// a turn in conversation order. Other keys follow alphabetically. Swift's JSONEncoder keeps
    /// no stable key order, and a resumed run must write the same bytes as an uninterrupted one.
    static let fieldOrder = [
        "id", "conflict_type", "domain", "purpose", "turns", "ground_truth_clusters", "metadata",
        "turn_id", "role", "cluster", "instruction", "content", "constraints", "query", "expected_behavior", "rdic_value",
        "kwargs", "generated_at", "model", "reviewed", "quality_score", "restructured_at", "original_structure", "new_structure",
    ]
    private static let rank = Dictionary(uniqueKeysWithValues: fieldOrder.enumerated().map { ($1, $0) })

    /// Deterministic JSON text: fields in `fieldOrder`, two-space indentation when `pretty`.
    public func serialized(pretty: Bool, indent: String = "") -> String {
        let inner = indent + "  "
        let (open, separator, close) = pretty ? ("\n" + inner, ",\n" + inner, "\n" + indent) : ("", ",", "")
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .string(let value): return Self.quoted(value)
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[" + open + items.map { $0.serialized(pretty: pretty, indent: inner) }.joined(separator: separator) + close + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            let keys = members.keys.sorted { (Self.rank[$0] ?? Int.max, $0) < (Self.rank[$1] ?? Int.max, $1) }
            let fields = keys.map { Self.quoted($0) + (pretty ? ": " : ":") + members[$0]!.serialized(pretty: pretty, indent: inner) }
            return "{" + open + fields.joined(separator: separator) + close + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}
