import Foundation
import IFEval
@testable import Datasets

/// Records and files the dataset tests start from: the bundled data, copied into fresh
/// temporary directories so tests never touch the repository's files.
enum DatasetFixtures {
    private static let conflicts = Result { try DatasetFile.read(BundledDatasets.conflicts) }
    private static let multiTurnRecords = Result { try DatasetFile.read(BundledDatasets.multiTurn) }

    static func bundled() throws -> [ConflictRecord] { try conflicts.get() }
    static func multiTurn() throws -> [ConflictRecord] { try multiTurnRecords.get() }

    /// A valid three-turn record with verifiable constraints (lowercase vs capitals).
    static func constrained() throws -> ConflictRecord {
        try require(try bundled().first { $0.turns[0].constraints?.first?.id == "change_case:english_capital" })
    }

    /// A valid three-turn record without constraints.
    static func plain() throws -> ConflictRecord {
        try require(try bundled().first { !$0.hasConstraints })
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func rules(_ record: ConflictRecord) -> Set<ValidationRule> { Set(RecordValidator.issues(record).map(\.rule)) }

    static func value(_ record: ConflictRecord) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(record))
    }
}

/// `#require` outside a test body (Testing's macro needs a test context; this mirrors it).
func require<T>(_ value: T?, _ message: String = "required value was nil") throws -> T {
    guard let value else { throw FixtureError(message: message) }
    return value
}

struct FixtureError: Error { let message: String }
