import Foundation
import Testing
@testable import Datasets

@Suite struct DatasetFileTests {
    @Test func arrayAndLinesRoundTrip() throws {
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let records = try DatasetFixtures.bundled()
        let array = dir.appendingPathComponent("batch.json"), lines = dir.appendingPathComponent("batch.jsonl")
        try DatasetFile.write(records, to: array)
        try DatasetFile.write(records, to: lines)
        #expect(try DatasetFile.read(array) == records)
        #expect(try DatasetFile.read(lines) == records)
        let text = try String(contentsOf: lines, encoding: .utf8)
        #expect(text.split(separator: "\n").count == records.count)
        #expect(try String(contentsOf: array, encoding: .utf8).hasPrefix("["))
        // quality_score is required, so an unscored record carries an explicit null.
        #expect(text.contains("\"quality_score\":null"))
        // No temporary file is left behind by the atomic write.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["batch.json", "batch.jsonl"])
    }

    @Test func readableErrors() throws {
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.json")
        #expect(throws: DatasetError.notFound(missing.path)) { try DatasetFile.readValues(missing) }

        let lines = dir.appendingPathComponent("broken.jsonl")
        try "{\"id\": \"conflict_001\"}\n\n{\"id\": \"conflict_002\"\n".write(to: lines, atomically: true, encoding: .utf8)
        do {
            _ = try DatasetFile.readValues(lines)
            Issue.record("a truncated line was accepted")
        } catch let DatasetError.syntax(path, line, _) {
            #expect(path == lines.path)
            #expect(line == 3)
        }

        let truncated = dir.appendingPathComponent("truncated.json")
        let full = try String(contentsOf: BundledDatasets.conflicts, encoding: .utf8)
        try String(full.prefix(full.count / 2)).write(to: truncated, atomically: true, encoding: .utf8)
        #expect { try DatasetFile.readValues(truncated) } throws: { error in
            guard case DatasetError.syntax(_, nil, _) = error else { return false }
            return "\(error)".contains("not valid JSON")
        }

        let wrongShape = dir.appendingPathComponent("shape.json")
        try "[{\"id\": \"conflict_001\"}]".write(to: wrongShape, atomically: true, encoding: .utf8)
        #expect { try DatasetFile.read(wrongShape) } throws: { error in
            "\(error)".contains("record 0: conflict_type: missing")
        }
    }
}

extension DatasetFileTests {
    @Test func aSingleRecordObjectIsOneRecord() throws {
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("one.json")
        let record = try DatasetFixtures.constrained()
        try Data(DatasetFixtures.value(record).serialized(pretty: true).utf8).write(to: file)
        #expect(try DatasetFile.read(file) == [record])
    }
}
