import Foundation

/// The JSON coders for every wire type in this module. The Swift properties are camelCase and
/// the wire is snake_case; these coders convert between them, so use them (not a bare
/// `JSONDecoder()`) for these types.
public enum WireCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    public static func encode<T: Encodable>(_ value: T) throws -> Data { try encoder().encode(value) }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder().decode(type, from: data)
    }

    /// A decoding failure as one readable sentence naming the offending field, for 400 bodies.
    public static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? snake(key.stringValue) }
            return keys.isEmpty ? "body" : keys.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing required field '\(parent == "body" ? "" : parent + ".")\(snake(key.stringValue))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "invalid type for '\(path(context))': \(context.debugDescription)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON: \(context.debugDescription)"
                : "invalid value for '\(path(context))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    static func snake(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// A field that the wire allows as one value or an array of them (OpenAI's `stop`, `prompt`).
public enum OneOrMany<Element: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    case one(Element)
    case many([Element])

    public var values: [Element] {
        switch self {
        case .one(let value): [value]
        case .many(let values): values
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(Element.self) {
            self = .one(one)
        } else {
            self = .many(try container.decode([Element].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .one(let value): try container.encode(value)
        case .many(let values): try container.encode(values)
        }
    }
}

/// One Server-Sent Events frame, as both APIs stream them.
public enum SSE {
    /// `event: NAME\ndata: JSON\n\n` (the event line only when named).
    public static func frame(event: String? = nil, data: String) -> String {
        var out = ""
        if let event { out += "event: \(event)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { out += "data: \(line)\n" }
        return out + "\n"
    }

    public static func frame<T: Encodable>(event: String? = nil, json value: T) throws -> String {
        frame(event: event, data: String(decoding: try WireCoding.encode(value), as: UTF8.self))
    }

    /// The sentinel that ends an OpenAI stream.
    public static let done = "data: [DONE]\n\n"
}
