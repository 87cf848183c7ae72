import Foundation
import IFEval
import Testing
@testable import Datasets

/// One test per validation rule: a valid bundled record broken in exactly one way is caught by
/// that rule, and the unbroken record passes.
@Suite struct ValidatorRuleTests {
    @Test func theStartingRecordsAreValid() throws {
        #expect(RecordValidator.issues(try DatasetFixtures.constrained()).isEmpty)
        #expect(RecordValidator.issues(try DatasetFixtures.plain()).isEmpty)
    }

    @Test func structureMissingWrongTypeAndUnknownFields() throws {
        guard case .object(var object) = try DatasetFixtures.value(try DatasetFixtures.plain()) else { Issue.record("not an object"); return }
        object["domain"] = nil
        object["ground_truth_clusters"] = .string("formal")
        object["notes"] = .string("extra")
        guard case .object(var metadata) = object["metadata"] else { Issue.record("no metadata"); return }
        metadata["reviewed"] = .string("yes")
        object["metadata"] = .object(metadata)
        let issues = RecordValidator.issues(.object(object))
        #expect(Set(issues.map(\.rule)) == [.structure])
        let messages = issues.map(\.message)
        #expect(messages.contains("domain: missing"))
        #expect(messages.contains("ground_truth_clusters: must be an array of strings, not string"))
        #expect(messages.contains("notes: unknown field"))
        #expect(messages.contains("metadata.reviewed: must be a boolean, not string"))
        #expect(RecordValidator.issues(.string("conflict_001")).map(\.message) == ["record: must be an object, not string"])
    }

    @Test func idFormat() throws {
        var record = try DatasetFixtures.plain()
        record.id = "conflict-7"
        #expect(DatasetFixtures.rules(record) == [.idFormat])
    }

    @Test func idUnique() throws {
        let records = try DatasetFixtures.bundled()
        var duplicate = records[5]
        duplicate.id = records[2].id
        let report = try DatasetValidator.validate(Array(records.prefix(5)) + [duplicate])
        #expect(report.invalid == 1)
        #expect(report.errors.first?.index == 5)
        #expect(report.issues.map(\.rule) == [.idUnique])
    }

    @Test func conflictType() throws {
        var record = try DatasetFixtures.plain()
        record.conflictType = "tone_brief_vs_detailed" // a detail subtype under the tone type
        #expect(DatasetFixtures.rules(record) == [.conflictType])
        record.conflictType = "mood_formal_vs_casual"
        #expect(DatasetFixtures.rules(record) == [.conflictType])
    }

    @Test func domain() throws {
        var record = try DatasetFixtures.plain()
        record.domain = "poetry"
        #expect(DatasetFixtures.rules(record) == [.domain])
    }

    @Test func purpose() throws {
        var record = try DatasetFixtures.plain()
        record.purpose = "benchmark"
        #expect(DatasetFixtures.rules(record) == [.purpose])
    }

    @Test func turnCount() throws {
        var record = try DatasetFixtures.plain()
        record.purpose = RecordPurpose.multiTurn.rawValue // a multi-turn record needs at least 5 turns
        #expect(DatasetFixtures.rules(record).contains(.turnCount))
        var multi = try #require(try DatasetFixtures.multiTurn().first)
        multi.purpose = RecordPurpose.contextIsolation.rawValue // three-turn records have exactly 3
        #expect(DatasetFixtures.rules(multi).contains(.turnCount))
    }

    @Test func turnOrder() throws {
        var record = try DatasetFixtures.plain()
        record.turns[1].turnID = 3
        #expect(DatasetFixtures.rules(record) == [.turnOrder])
        record = try DatasetFixtures.plain()
        record.turns[0].role = "assistant"
        #expect(DatasetFixtures.rules(record) == [.turnOrder])
    }

    @Test func turnFields() throws {
        var record = try DatasetFixtures.plain()
        record.turns[2].expectedBehavior = "  "
        #expect(DatasetFixtures.rules(record) == [.turnFields])
        record = try DatasetFixtures.plain()
        record.turns[0].query = "Give me both."
        #expect(DatasetFixtures.rules(record) == [.turnFields])
        record = try DatasetFixtures.plain()
        record.turns[1].content = nil
        #expect(DatasetFixtures.rules(record) == [.turnFields])
    }

    @Test func turnClusters() throws {
        var multi = try #require(try DatasetFixtures.multiTurn().first)
        multi.turns[0].cluster = "somewhere_else"
        #expect(DatasetFixtures.rules(multi).contains(.turnClusters))
        multi = try #require(try DatasetFixtures.multiTurn().first)
        let second = multi.groundTruthClusters[1]
        for index in multi.turns.indices where multi.turns[index].cluster == second { multi.turns[index].cluster = multi.groundTruthClusters[0] }
        #expect(DatasetFixtures.rules(multi).contains(.turnClusters)) // the second cluster has no turns left
        var record = try DatasetFixtures.plain()
        record.turns[0].cluster = record.groundTruthClusters[1]
        #expect(DatasetFixtures.rules(record) == [.turnClusters])
    }

    @Test func clusters() throws {
        var record = try DatasetFixtures.plain()
        record.groundTruthClusters = ["Formal Tone", "casual"]
        #expect(DatasetFixtures.rules(record) == [.clusters])
        record.groundTruthClusters = ["casual", "casual"]
        #expect(DatasetFixtures.rules(record) == [.clusters])
        record.groundTruthClusters = ["formal", "casual", "neutral"]
        #expect(DatasetFixtures.rules(record) == [.clusters])
    }

    @Test func metadata() throws {
        var record = try DatasetFixtures.plain()
        record.metadata.generatedAt = "last Tuesday"
        #expect(DatasetFixtures.rules(record) == [.metadata])
        record = try DatasetFixtures.plain()
        record.metadata.qualityScore = 4
        #expect(DatasetFixtures.rules(record) == [.metadata])
        record = try DatasetFixtures.plain()
        record.metadata.model = ""
        #expect(DatasetFixtures.rules(record) == [.metadata])
        record = try DatasetFixtures.plain()
        record.metadata.generatedAt = "2025-01-15T10:30:00.123456" // Python's isoformat() is accepted
        #expect(DatasetFixtures.rules(record).isEmpty)
    }

    @Test func queryAsksBoth() throws {
        var record = try DatasetFixtures.plain()
        record.turns[2].query = "Now write the final version."
        #expect(DatasetFixtures.rules(record) == [.queryAsksBoth])
        record.turns[2].query = "Now write the \(record.groundTruthClusters[0]) and the \(record.groundTruthClusters[1]) text."
        #expect(DatasetFixtures.rules(record).isEmpty)
    }

    @Test func expectedBehaviorReadable() throws {
        var record = try DatasetFixtures.plain()
        record.turns[2].expectedBehavior = "maintain both Use strictly professional legal language\u{2026} context"
        #expect(DatasetFixtures.rules(record) == [.expectedBehaviorReadable])
        record.turns[2].expectedBehavior = "Two versions: one formal, one casual"
        #expect(DatasetFixtures.rules(record) == [.expectedBehaviorReadable])
    }

    @Test func instructionsDiffer() throws {
        var record = try DatasetFixtures.plain()
        record.turns[1].instruction = record.turns[0].instruction.map { $0.uppercased() + "!" }
        #expect(DatasetFixtures.rules(record) == [.instructionsDiffer])
    }

    @Test func constraintValid() throws {
        var record = try DatasetFixtures.constrained()
        record.turns[0].constraints = [InstructionConstraint(id: "change_case:english_capital"),
                                       InstructionConstraint(id: "change_case:shouting")]
        #expect(DatasetFixtures.rules(record) == [.constraintValid])
        record.turns[0].constraints = [InstructionConstraint(id: "change_case:english_capital"),
                                       InstructionConstraint(id: "length_constraints:number_words", kwargs: ["num_words": .integer(50), "relation": .string("at most")])]
        #expect(DatasetFixtures.rules(record) == [.constraintValid])
    }

    @Test func constraintsConflict() throws {
        // Both sides constrained, but lowercase + "at least 3 sentences" can both hold.
        var record = try DatasetFixtures.constrained()
        record.turns[0].constraints = [InstructionConstraint(id: "length_constraints:number_sentences",
                                                             kwargs: ["num_sentences": .integer(3), "relation": .string("at least")])]
        #expect(DatasetFixtures.rules(record) == [.constraintsConflict])
        // Only one side constrained: the other version cannot be scored mechanically.
        record = try DatasetFixtures.constrained()
        record.turns[1].constraints = nil
        #expect(DatasetFixtures.rules(record) == [.constraintsConflict])
        // One side contradicting itself.
        record = try DatasetFixtures.constrained()
        record.turns[1].constraints?.append(InstructionConstraint(id: "change_case:english_capital"))
        #expect(DatasetFixtures.rules(record) == [.constraintsConflict])
    }

    @Test func everyRuleHasATest() {
        // The rules tested above, one test each; a new rule must add its own test here.
        let tested: Set<ValidationRule> = [.structure, .idFormat, .idUnique, .conflictType, .domain, .purpose, .turnCount, .turnOrder,
                                           .turnFields, .turnClusters, .clusters, .metadata, .queryAsksBoth, .expectedBehaviorReadable, .instructionsDiffer,
                                           .constraintValid, .constraintsConflict]
        #expect(tested == Set(ValidationRule.allCases))
    }
}
