import Foundation
import TOMLKit

/// A value of the config file, as the providers layer reads it.
public enum ConfigValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case array([ConfigValue])
    case table([String: ConfigValue])
    /// Dates and times: TOML has them, no setting of ours takes one.
    case dateTime(String)

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var tableValue: [String: ConfigValue]? { if case .table(let t) = self { return t } else { return nil } }
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

    /// "a string", "an array", ... for error messages.
    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        case .dateTime: "a date"
        }
    }
}

/// A syntax error, with the 1-based line it is on.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// TOML files, parsed by TOMLKit (toml++), as plain values.
public enum TOML {
    public static func parse(_ text: String) throws -> [String: ConfigValue] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            // toml++'s messages describe the syntax, not the line's text: config lines hold API keys.
            throw TOMLError(line: error.source.begin.line, message: error.description)
        } catch {
            throw TOMLError(line: 0, message: "\(error)")
        }
        return convert(table)
    }

    static func convert(_ table: TOMLTable) -> [String: ConfigValue] {
        var result: [String: ConfigValue] = [:]
        for key in table.keys {
            if let value = table[key] { result[key] = convert(value) }
        }
        return result
    }

    static func convert(_ value: any TOMLValueConvertible) -> ConfigValue {
        switch value.type {
        case .string: return .string(value.string ?? "")
        case .int: return .integer(value.int ?? 0)
        case .double: return .float(value.double ?? 0)
        case .bool: return .boolean(value.bool ?? false)
        case .table: return .table(value.table.map(convert) ?? [:])
        case .array: return .array(value.array.map { $0.map(convert) } ?? [])
        default: return .dateTime(value.tomlValue.debugDescription)
        }
    }
}
