import Foundation
import Testing
@testable import Datasets

/// The hand-written demo data: complete coverage, valid by every rule, and valid against the
/// shipped JSON Schema as checked by a real JSON Schema implementation.
@Suite struct BundledDataTests {
    @Test func conflictsFileIsValidAndCoversEverything() throws {
        let report = try DatasetValidator.validate(file: BundledDatasets.conflicts)
        #expect(report.isValid, "\(report.rendered())")
        #expect(report.total >= 40)
        #expect(report.withConstraints >= 20)
        #expect(Set(report.distribution.byType.keys) == Set(ConflictKind.allCases.map(\.rawValue)))
        #expect(Set(report.distribution.bySubtype.keys) == Set(ConflictCategory.all.map(\.conflictType)))
        #expect(Set(report.distribution.byDomain.keys) == Set(ConflictDomain.allCases.map(\.rawValue)))
        #expect(report.distribution.byPurpose == [RecordPurpose.contextIsolation.rawValue: report.total])
    }

    @Test func multiTurnFileIsValid() throws {
        let report = try DatasetValidator.validate(file: BundledDatasets.multiTurn)
        #expect(report.isValid, "\(report.rendered())")
        #expect(report.total == 10)
        #expect(report.withConstraints == 10)
        #expect(report.distribution.byPurpose == [RecordPurpose.multiTurn.rawValue: 10])
        let records = try DatasetFile.read(BundledDatasets.multiTurn)
        #expect(records.allSatisfy { $0.turns.count >= 5 })
        #expect(Set(records.map(\.domain)).count == 10)
    }

    @Test func idsAreUniqueAcrossBothFiles() throws {
        let ids = try BundledDatasets.all.flatMap { try DatasetFile.read($0).map(\.id) }
        #expect(Set(ids).count == ids.count)
    }

    @Test func everyConstrainedRecordNamesItsConflict() throws {
        for record in try BundledDatasets.all.flatMap(DatasetFile.read) where record.hasConstraints {
            let sides = record.groundTruthClusters.map(record.constraints(forCluster:))
            #expect(ConstraintConflicts.firstConflict(sides[0], sides[1]) != nil, "\(record.id)")
        }
    }

    /// Runs the `jsonschema` Python package (Draft 2020-12) when python3 and the package are
    /// installed; skipped otherwise. Also checks that the schema rejects broken records, so a
    /// schema that accepts everything fails.
    @Test(.enabled(if: PythonJSONSchema.available)) func bundledDataMatchesTheJSONSchema() throws {
        let records = try BundledDatasets.all.flatMap(DatasetFile.readValues)
        #expect(try PythonJSONSchema.errors(records).allSatisfy(\.isEmpty))
        var broken: [JSONValue] = []
        for (key, value) in [("conflict_type", JSONValue.string("tone_loud_vs_quiet")), ("id", .string("c1")),
                             ("ground_truth_clusters", .array([.string("a")])), ("extra", .bool(true))] {
            guard case .object(var object) = records[0] else { continue }
            object[key] = value
            broken.append(.object(object))
        }
        #expect(try PythonJSONSchema.errors(broken).allSatisfy { !$0.isEmpty })
    }
}

/// Validation with the reference `jsonschema` package, through python3.
enum PythonJSONSchema {
    /// The first python3 on PATH (pyenv shims included), then the system one.
    static let python: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return (path.split(separator: ":").map { "\($0)/python3" } + ["/usr/bin/python3"])
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var available: Bool {
        guard let python else { return false }
        return (try? run(python, ["-c", "import jsonschema"], stdin: Data()))?.status == 0
    }

    /// The schema errors of each value, in order.
    static func errors(_ values: [JSONValue]) throws -> [[String]] {
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            validator = jsonschema.Draft202012Validator(schema)
            print(json.dumps([[e.message for e in validator.iter_errors(r)] for r in json.load(sys.stdin)]))
            """
        let result = try run(python!, ["-c", script, BundledDatasets.schema.path], stdin: JSONEncoder().encode(values))
        guard result.status == 0 else { throw FixtureError(message: "python3 failed: \(result.output)") }
        return try JSONDecoder().decode([[String]].self, from: Data(result.output.utf8))
    }

    private static func run(_ executable: String, _ arguments: [String], stdin: Data) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// The shipped JSON Schema and the Swift side describe the same format: same enums, same
/// required and allowed fields (checked without Python, so it also runs where `jsonschema` is
/// not installed).
@Suite struct SchemaAgreementTests {
    static func schema() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: BundledDatasets.schema))
    }

    static func strings(_ value: JSONValue?) -> Set<String> { Set(value?.arrayValue?.compactMap(\.stringValue) ?? []) }

    static func fields(_ object: JSONValue?) -> (all: Set<String>, required: Set<String>) {
        (Set(object?["properties"]?.objectValue?.keys.map { $0 } ?? []), strings(object?["required"]))
    }

    static func swiftFields(_ shape: [String: RecordShape.Field]) -> (all: Set<String>, required: Set<String>) {
        (Set(shape.keys), Set(shape.filter(\.value.required).keys))
    }

    @Test func enumsAndFieldsMatchTheSwiftTypes() throws {
        let schema = try Self.schema()
        let properties = schema["properties"]
        #expect(Self.strings(properties?["conflict_type"]?["enum"]) == Set(ConflictCategory.all.map(\.conflictType)))
        #expect(Self.strings(properties?["domain"]?["enum"]) == Set(ConflictDomain.allCases.map(\.rawValue)))
        #expect(Self.strings(properties?["purpose"]?["enum"]) == Set(RecordPurpose.allCases.map(\.rawValue)))
        #expect(Self.fields(schema) == Self.swiftFields(RecordShape.record))
        let defs = schema["$defs"]
        #expect(Self.fields(defs?["metadata"]) == Self.swiftFields(RecordShape.metadata))
        #expect(Self.fields(defs?["constraint"]) == Self.swiftFields(RecordShape.constraint))
        let instruction = Self.fields(defs?["instructionTurn"]), query = Self.fields(defs?["queryTurn"])
        #expect(instruction.all.union(query.all) == Set(RecordShape.turn.keys))
        #expect(instruction.required.intersection(query.required) == Self.swiftFields(RecordShape.turn).required)
    }
}
