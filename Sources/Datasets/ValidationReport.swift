import Foundation

/// Counts of records by type, subtype, domain and purpose (well-shaped records only).
public struct Distribution: Codable, Sendable, Equatable {
    public var byType: [String: Int] = [:]
    public var bySubtype: [String: Int] = [:]
    public var byDomain: [String: Int] = [:]
    public var byPurpose: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case byType = "by_type", bySubtype = "by_subtype", byDomain = "by_domain", byPurpose = "by_purpose"
    }

    public init(_ records: [ConflictRecord] = []) {
        for record in records {
            let category = record.category
            byType[category?.kind.rawValue ?? "(unknown)", default: 0] += 1
            bySubtype[category?.conflictType ?? record.conflictType, default: 0] += 1
            byDomain[record.domain, default: 0] += 1
            byPurpose[record.purpose, default: 0] += 1
        }
    }

    func rendered() -> String {
        [("type", byType), ("subtype", bySubtype), ("domain", byDomain), ("purpose", byPurpose)].map { name, counts in
            "by \(name):\n" + counts.sorted { $0.key < $1.key }.map { "  \($0.key.padding(toLength: 48, withPad: " ", startingAt: 0)) \($0.value)" }
                .joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

/// The errors of one invalid record.
public struct RecordErrors: Codable, Sendable, Equatable {
    /// 0-based position in the file.
    public var index: Int
    public var id: String?
    public var issues: [ValidationIssue]
}

/// The result of validating a file: counts, each invalid record's errors, the distribution.
public struct ValidationReport: Codable, Sendable, Equatable {
    public var file: String?
    public var total: Int
    public var valid: Int
    public var invalid: Int
    public var withConstraints: Int
    public var errors: [RecordErrors]
    public var distribution: Distribution

    enum CodingKeys: String, CodingKey {
        case file, total, valid, invalid, errors, distribution
        case withConstraints = "with_constraints"
    }

    public var isValid: Bool { invalid == 0 }

    /// Every issue of every record, flattened.
    public var issues: [ValidationIssue] { errors.flatMap(\.issues) }

    public func rendered() -> String {
        var lines = ["\(file ?? "dataset"): \(total) records, \(valid) valid, \(invalid) invalid, \(withConstraints) with verifiable constraints"]
        for record in errors {
            lines.append("record \(record.index) (\(record.id ?? "no id")):")
            lines += record.issues.map { "  - \($0)" }
        }
        let counted = distribution.byPurpose.values.reduce(0, +)
        if counted < total { lines.append("distribution of the \(counted) records whose shape could be read:") }
        lines.append(distribution.rendered())
        return lines.joined(separator: "\n")
    }
}

/// Validates whole files: every per-record rule plus id uniqueness.
public enum DatasetValidator {
    public static func validate(_ values: [JSONValue], file: String? = nil) -> ValidationReport {
        var errors: [RecordErrors] = []
        var firstIndexOfID: [String: Int] = [:]
        var decoded: [ConflictRecord] = []
        for (index, value) in values.enumerated() {
            var issues = RecordValidator.issues(value)
            let id = value["id"]?.stringValue
            if let id {
                if let first = firstIndexOfID[id] {
                    issues.append(ValidationIssue(.idUnique, "id '\(id)' is already used by record \(first)"))
                } else {
                    firstIndexOfID[id] = index
                }
            }
            if let record = try? DatasetFile.decode(value) { decoded.append(record) }
            if !issues.isEmpty { errors.append(RecordErrors(index: index, id: id, issues: issues)) }
        }
        return ValidationReport(file: file, total: values.count, valid: values.count - errors.count, invalid: errors.count,
                                withConstraints: decoded.filter(\.hasConstraints).count, errors: errors,
                                distribution: Distribution(decoded))
    }

    public static func validate(_ records: [ConflictRecord], file: String? = nil) throws -> ValidationReport {
        let values = try records.map { try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode($0)) }
        return validate(values, file: file)
    }

    public static func validate(file url: URL) throws -> ValidationReport {
        validate(try DatasetFile.readValues(url), file: url.path)
    }
}
