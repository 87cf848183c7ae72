/// The JSON shape of a v2 record: required and optional fields and their JSON types. The
/// validator runs this first so a malformed record gets field-level messages, and only
/// well-shaped records are decoded for the semantic checks.
enum RecordShape {
    enum Kind {
        case string, integer, boolean, numberOrNull, stringArray, object, array

        func accepts(_ value: JSONValue) -> Bool {
            switch (self, value) {
            case (.string, .string), (.boolean, .bool), (.object, .object), (.array, .array): return true
            case (.integer, .number(let n)): return n == n.rounded()
            case (.numberOrNull, .number), (.numberOrNull, .null): return true
            case (.stringArray, .array(let items)): return items.allSatisfy { $0.stringValue != nil }
            default: return false
            }
        }

        var name: String {
            switch self {
            case .string: return "a string"
            case .integer: return "an integer"
            case .boolean: return "a boolean"
            case .numberOrNull: return "a number or null"
            case .stringArray: return "an array of strings"
            case .object: return "an object"
            case .array: return "an array"
            }
        }
    }

    struct Field {
        let kind: Kind
        let required: Bool
    }

    static let record: [String: Field] = [
        "id": Field(kind: .string, required: true), "conflict_type": Field(kind: .string, required: true),
        "domain": Field(kind: .string, required: true), "purpose": Field(kind: .string, required: true),
        "turns": Field(kind: .array, required: true), "ground_truth_clusters": Field(kind: .stringArray, required: true),
        "metadata": Field(kind: .object, required: true),
    ]
    static let turn: [String: Field] = [
        "turn_id": Field(kind: .integer, required: true), "role": Field(kind: .string, required: true),
        "instruction": Field(kind: .string, required: false), "content": Field(kind: .string, required: false),
        "constraints": Field(kind: .array, required: false), "cluster": Field(kind: .string, required: false),
        "query": Field(kind: .string, required: false), "expected_behavior": Field(kind: .string, required: false),
        "rdic_value": Field(kind: .string, required: false),
    ]
    static let metadata: [String: Field] = [
        "generated_at": Field(kind: .string, required: true), "model": Field(kind: .string, required: true),
        "reviewed": Field(kind: .boolean, required: true), "quality_score": Field(kind: .numberOrNull, required: true),
        "restructured_at": Field(kind: .string, required: false), "original_structure": Field(kind: .string, required: false),
        "new_structure": Field(kind: .string, required: false),
    ]
    static let constraint: [String: Field] = [
        "id": Field(kind: .string, required: true), "kwargs": Field(kind: .object, required: false),
    ]

    /// Every shape problem of `value`, each naming its field path.
    static func problems(_ value: JSONValue) -> [String] {
        var problems = check(value, against: record, at: "")
        if let turns = value["turns"]?.arrayValue {
            for (index, turn) in turns.enumerated() {
                let path = "turns[\(index)]"
                problems += check(turn, against: self.turn, at: path)
                for (c, item) in (turn["constraints"]?.arrayValue ?? []).enumerated() {
                    let itemPath = "\(path).constraints[\(c)]"
                    problems += check(item, against: constraint, at: itemPath)
                    for (key, argument) in (item["kwargs"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key })
                    where !(Kind.string.accepts(argument) || Kind.integer.accepts(argument) || Kind.stringArray.accepts(argument)) {
                        problems.append("\(itemPath).kwargs.\(key): must be a string, an integer or an array of strings, not \(argument.typeName)")
                    }
                }
            }
        }
        if let metadata = value["metadata"], metadata.objectValue != nil {
            problems += check(metadata, against: self.metadata, at: "metadata")
        }
        return problems
    }

    private static func check(_ value: JSONValue, against fields: [String: Field], at path: String) -> [String] {
        let prefix = path.isEmpty ? "" : path + "."
        guard let object = value.objectValue else { return ["\(path.isEmpty ? "record" : path): must be an object, not \(value.typeName)"] }
        var problems: [String] = []
        for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
            guard let member = object[name] else {
                if field.required { problems.append("\(prefix)\(name): missing") }
                continue
            }
            if !field.kind.accepts(member) { problems.append("\(prefix)\(name): must be \(field.kind.name), not \(member.typeName)") }
        }
        for name in object.keys.sorted() where fields[name] == nil {
            problems.append("\(prefix)\(name): unknown field")
        }
        return problems
    }
}
