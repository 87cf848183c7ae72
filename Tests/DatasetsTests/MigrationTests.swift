import Foundation
import Testing
@testable import Datasets

@Suite struct MigrationTests {
    static let v1 = """
        [
          {"id": "conflict_001", "conflict_type": "style_technical_vs_layperson", "domain": "legal_writing",
           "turns": [{"turn_id": 1, "role": "user", "content": "Explain the indemnity clause to the client. Use strictly professional legal language and also explain it in plain everyday words."}],
           "conflicting_instructions": ["Use strictly professional legal language", "explain it in plain everyday words"],
           "task": "Explain the indemnity clause to the client.",
           "expected_behavior": "maintain both Use strictly professional legal language… context",
           "ground_truth_clusters": ["legal_register", "plain_language"],
           "metadata": {"generated_at": "2025-01-15T10:30:00.123456", "model": "claude-3-5-sonnet", "reviewed": true, "quality_score": 0.8}},
          {"id": "conflict_002", "conflict_type": "format_bullets_vs_paragraphs", "domain": "business_email",
           "turns": [{"turn_id": 1, "role": "user", "content": "Summarise the meeting for the team"}],
           "conflicting_instructions": ["use bullet points", "Write in paragraphs"]}
        ]
        """

    @Test func migratesInPlaceWithABackupAndReadableText() throws {
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("batch_001.json")
        try Self.v1.write(to: file, atomically: true, encoding: .utf8)
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        let (records, backup) = try Migration.migrateFile(file, at: date)
        #expect(backup?.lastPathComponent == "batch_001.json.v1.bak")
        #expect(try String(contentsOf: try #require(backup), encoding: .utf8) == Self.v1)
        #expect(try DatasetFile.read(file) == records)
        #expect(try DatasetValidator.validate(file: file).isValid)

        let first = records[0]
        #expect(first.turns.map(\.instruction) == ["Use strictly professional legal language", "explain it in plain everyday words", nil])
        #expect(first.turns[0].content == "Explain the indemnity clause to the client. Use strictly professional legal language.")
        let expected = try #require(first.turns[2].expectedBehavior)
        #expect(expected == "Two separate versions of the same piece (explain the indemnity clause to the client). "
                 + "Version one follows only the first instruction: Use strictly professional legal language. "
                 + "Version two follows only the second instruction: Explain it in plain everyday words. "
                 + "Neither version should blend in the other instruction.")
        #expect(first.metadata.qualityScore == 0.8)
        #expect(first.metadata.originalStructure == Migration.originalStructure)
        #expect(first.metadata.restructuredAt == RecordMetadata.timestamp(date))
        // Without clusters or metadata in v1, labels come from the subtype and the task from the turn.
        #expect(records[1].groundTruthClusters == ["bullets", "paragraphs"])
        #expect(records[1].turns[1].content == "Summarise the meeting for the team. Write in paragraphs.")

        // A second in-place run keeps the first backup and makes a new one.
        try Self.v1.write(to: file, atomically: true, encoding: .utf8)
        #expect(try Migration.migrateFile(file, at: date).backup?.lastPathComponent == "batch_001.json.v1.bak.1")
    }

    @Test func writesElsewhereWithoutBackupAndRejectsNonV1() throws {
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("v1.jsonl"), output = dir.appendingPathComponent("v2.jsonl")
        let lines = try DatasetFile.readValues({ let f = dir.appendingPathComponent("tmp.json"); try Self.v1.write(to: f, atomically: true, encoding: .utf8); return f }())
        try DatasetFile.write(lines, to: input)
        let (records, backup) = try Migration.migrateFile(input, to: output)
        #expect(backup == nil)
        #expect(records.count == 2)
        #expect(try DatasetFile.read(output).count == 2)

        let bad = dir.appendingPathComponent("bad.json")
        try "[{\"id\": \"conflict_009\", \"conflict_type\": \"tone_formal_vs_casual\", \"domain\": \"social_media\", \"turns\": [{\"content\": \"x\"}], \"conflicting_instructions\": [\"only one\"]}]"
            .write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: MigrationError(index: 0, message: "conflicting_instructions must hold exactly 2 non-empty instructions, found 1")) {
            try Migration.migrateFile(bad)
        }
        #expect(!FileManager.default.fileExists(atPath: bad.path + ".v1.bak"))
    }
}
