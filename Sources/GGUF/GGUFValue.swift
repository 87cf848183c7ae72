/// The value types a GGUF metadata entry can hold, numbered as in the file format.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12
}

/// One metadata value. Arrays keep their declared element type so that an empty array, or an
/// array of arrays, writes back exactly as it was read.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// Any integer value as `Int` (nil when it does not fit, or for non-integers).
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// Any numeric value as `Double`.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [GGUFValue]? { if case .array(_, let a) = self { a } else { nil } }
}

/// The key-value metadata of a GGUF file, in file order.
public struct GGUFMetadata: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [String: GGUFValue] = [:]

    public init() {}

    public init(_ pairs: KeyValuePairs<String, GGUFValue>) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> GGUFValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    public var count: Int { keys.count }

    public func int(_ key: String) -> Int? { values[key]?.int }
    public func double(_ key: String) -> Double? { values[key]?.double }
    public func float(_ key: String) -> Float? { values[key]?.double.map(Float.init) }
    public func string(_ key: String) -> String? { values[key]?.string }
    public func bool(_ key: String) -> Bool? { values[key]?.bool }
    public func strings(_ key: String) -> [String]? { values[key]?.array?.compactMap(\.string) }
    public func floats(_ key: String) -> [Float]? { values[key]?.array?.compactMap { $0.double.map(Float.init) } }
    public func ints(_ key: String) -> [Int]? { values[key]?.array?.compactMap(\.int) }

    /// An architecture-scoped key such as `gemma3.block_count`.
    public func int(arch key: String) -> Int? { architecture.flatMap { int("\($0).\(key)") } }
    public func float(arch key: String) -> Float? { architecture.flatMap { float("\($0).\(key)") } }

    public var architecture: String? { string("general.architecture") }
}
