import Foundation
import IFEval

/// Checks one record against every per-record rule (`ValidationRule`); `DatasetValidator` adds
/// the rules that span records.
public enum RecordValidator {
    /// Every issue of a raw record: shape problems first; semantic rules only when the shape is
    /// right (they need the typed record).
    public static func issues(_ value: JSONValue) -> [ValidationIssue] {
        let shape = RecordShape.problems(value)
        if !shape.isEmpty { return shape.map { ValidationIssue(.structure, $0) } }
        do { return issues(try DatasetFile.decode(value)) } catch {
            return [ValidationIssue(.structure, "cannot decode: \(error)")]
        }
    }

    public static func issues(_ record: ConflictRecord) -> [ValidationIssue] {
        var found: [ValidationIssue] = []
        func fail(_ rule: ValidationRule, _ message: String) { found.append(ValidationIssue(rule, message)) }

        if record.id.wholeMatch(of: /conflict_[0-9]{3,}/) == nil {
            fail(.idFormat, "id '\(record.id)' is not conflict_NNN")
        }
        if record.category == nil { fail(.conflictType, conflictTypeMessage(record.conflictType)) }
        if ConflictDomain(rawValue: record.domain) == nil {
            fail(.domain, "domain '\(record.domain)' is not one of " + ConflictDomain.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let purpose = RecordPurpose(rawValue: record.purpose)
        if purpose == nil {
            fail(.purpose, "purpose '\(record.purpose)' is not one of " + RecordPurpose.allCases.map(\.rawValue).joined(separator: ", "))
        }
        switch purpose {
        case .contextIsolation? where record.turns.count != 3:
            fail(.turnCount, "\(record.purpose) records have exactly 3 turns, this one has \(record.turns.count)")
        case .multiTurn? where record.turns.count < 5:
            fail(.turnCount, "\(record.purpose) records have at least 5 turns, this one has \(record.turns.count)")
        default: break
        }
        for (index, turn) in record.turns.enumerated() {
            if turn.turnID != index + 1 { fail(.turnOrder, "turns[\(index)].turn_id is \(turn.turnID), expected \(index + 1)") }
            if turn.role != "user" { fail(.turnOrder, "turns[\(index)].role is '\(turn.role)', expected 'user'") }
        }
        found += turnFieldIssues(record)
        found += clusterIssues(record)
        found += metadataIssues(record.metadata)
        if let query = record.queryTurn?.query, !query.isEmpty, !QueryCheck.asksForBoth(query, clusters: record.groundTruthClusters) {
            fail(.queryAsksBoth, "the final query does not ask for both versions: \"\(query)\" (say \"both\", \"two versions\", \"each\", or name both clusters)")
        }
        if let expected = record.queryTurn?.expectedBehavior, let why = QueryCheck.unreadable(expected) {
            fail(.expectedBehaviorReadable, "expected_behavior \(why): \"\(expected.prefix(80))\"")
        }
        found += differenceIssues(record)
        found += constraintIssues(record)
        return found
    }

    private static func conflictTypeMessage(_ value: String) -> String {
        if let underscore = value.firstIndex(of: "_"), let kind = ConflictKind(rawValue: String(value[..<underscore])) {
            return "'\(value)': subtype of \(kind.rawValue) must be one of " + kind.subtypes.joined(separator: ", ")
        }
        return "'\(value)' does not start with a known type (" + ConflictKind.allCases.map(\.rawValue).joined(separator: ", ") + ")"
    }

    private static func turnFieldIssues(_ record: ConflictRecord) -> [ValidationIssue] {
        var found: [ValidationIssue] = []
        func blank(_ text: String?) -> Bool { (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        for (index, turn) in record.turns.enumerated() {
            let isLast = index == record.turns.count - 1
            let at = "turns[\(index)]"
            if isLast {
                for (name, value) in [("query", turn.query), ("expected_behavior", turn.expectedBehavior), ("rdic_value", turn.rdicValue)]
                where blank(value) {
                    found.append(ValidationIssue(.turnFields, "\(at) (the final query turn): \(name) is missing or empty"))
                }
                for (name, present) in [("instruction", turn.instruction != nil), ("content", turn.content != nil),
                                        ("constraints", turn.constraints != nil), ("cluster", turn.cluster != nil)] where present {
                    found.append(ValidationIssue(.turnFields, "\(at) (the final query turn) must not carry \(name)"))
                }
            } else {
                for (name, value) in [("instruction", turn.instruction), ("content", turn.content)] where blank(value) {
                    found.append(ValidationIssue(.turnFields, "\(at) (an instruction turn): \(name) is missing or empty"))
                }
                for (name, present) in [("query", turn.query != nil), ("expected_behavior", turn.expectedBehavior != nil),
                                        ("rdic_value", turn.rdicValue != nil)] where present {
                    found.append(ValidationIssue(.turnFields, "\(at) (an instruction turn) must not carry \(name); only the final turn does"))
                }
            }
        }
        return found
    }

    private static func clusterIssues(_ record: ConflictRecord) -> [ValidationIssue] {
        var found: [ValidationIssue] = []
        let labels = record.groundTruthClusters
        if labels.count != 2 { found.append(ValidationIssue(.clusters, "ground_truth_clusters has \(labels.count) labels, expected 2")) }
        for label in labels where label.wholeMatch(of: /[a-z][a-z0-9]*(_[a-z0-9]+)*/) == nil {
            found.append(ValidationIssue(.clusters, "cluster label '\(label)' is not snake_case"))
        }
        if labels.count == 2, labels[0] == labels[1] {
            found.append(ValidationIssue(.clusters, "the two cluster labels are both '\(labels[0])'"))
        }
        guard labels.count == 2 else { return found }
        let instructionTurns = record.instructionTurns
        if record.purpose == RecordPurpose.multiTurn.rawValue {
            for turn in instructionTurns {
                guard let cluster = turn.cluster else {
                    found.append(ValidationIssue(.turnClusters, "turn \(turn.turnID): multi-turn instruction turns must name their cluster"))
                    continue
                }
                if !labels.contains(cluster) {
                    found.append(ValidationIssue(.turnClusters, "turn \(turn.turnID): cluster '\(cluster)' is not one of \(labels.joined(separator: ", "))"))
                }
            }
            for label in labels where instructionTurns.filter({ $0.cluster == label }).count < 2 {
                found.append(ValidationIssue(.turnClusters, "cluster '\(label)' has fewer than 2 instruction turns; instructions must accumulate"))
            }
        } else {
            for turn in instructionTurns where turn.turnID <= 2 {
                if let cluster = turn.cluster, cluster != labels[turn.turnID - 1] {
                    found.append(ValidationIssue(.turnClusters, "turn \(turn.turnID): cluster '\(cluster)' must be '\(labels[turn.turnID - 1])' (turn 1 is the first label, turn 2 the second)"))
                }
            }
        }
        return found
    }

    private static func metadataIssues(_ metadata: RecordMetadata) -> [ValidationIssue] {
        var found: [ValidationIssue] = []
        if !isTimestamp(metadata.generatedAt) {
            found.append(ValidationIssue(.metadata, "metadata.generated_at '\(metadata.generatedAt)' is not an ISO 8601 date-time"))
        }
        if let restructured = metadata.restructuredAt, !isTimestamp(restructured) {
            found.append(ValidationIssue(.metadata, "metadata.restructured_at '\(restructured)' is not an ISO 8601 date-time"))
        }
        if metadata.model.trimmingCharacters(in: .whitespaces).isEmpty {
            found.append(ValidationIssue(.metadata, "metadata.model is empty"))
        }
        if let score = metadata.qualityScore, !(0...1).contains(score) {
            found.append(ValidationIssue(.metadata, "metadata.quality_score \(score) is outside 0...1"))
        }
        return found
    }

    static func isTimestamp(_ text: String) -> Bool {
        text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?/) != nil
    }

    private static func differenceIssues(_ record: ConflictRecord) -> [ValidationIssue] {
        let labels = record.groundTruthClusters
        guard labels.count == 2, labels[0] != labels[1] else { return [] }
        let first = record.instructionTurns.filter { record.cluster(of: $0) == labels[0] }
        let second = record.instructionTurns.filter { record.cluster(of: $0) == labels[1] }
        var found: [ValidationIssue] = []
        for a in first {
            for b in second {
                guard let x = a.instruction, let y = b.instruction, !x.isEmpty, !y.isEmpty else { continue }
                if let why = QueryCheck.tooSimilar(x, y) {
                    found.append(ValidationIssue(.instructionsDiffer, "turns \(a.turnID) and \(b.turnID): the instructions do not differ (\(why))"))
                }
            }
        }
        return found
    }

    private static func constraintIssues(_ record: ConflictRecord) -> [ValidationIssue] {
        var found: [ValidationIssue] = []
        for turn in record.turns {
            for constraint in turn.constraints ?? [] {
                for problem in IFEvalRegistry.problems(constraint) {
                    found.append(ValidationIssue(.constraintValid, "turn \(turn.turnID): \(problem)"))
                }
            }
        }
        let distinct = Set(record.groundTruthClusters).count
        guard record.hasConstraints, record.groundTruthClusters.count == 2, distinct == 2 else { return found }
        let labels = record.groundTruthClusters
        let sides = labels.map { record.constraints(forCluster: $0) }
        for (label, side) in zip(labels, sides) where side.isEmpty {
            found.append(ValidationIssue(.constraintsConflict, "cluster '\(label)' has no constraints, so its version cannot be scored mechanically"))
        }
        for (label, side) in zip(labels, sides) {
            for (i, a) in side.enumerated() {
                for b in side[(i + 1)...] {
                    if let why = ConstraintConflicts.reason(a, b) {
                        found.append(ValidationIssue(.constraintsConflict, "cluster '\(label)' contradicts itself: \(why)"))
                    }
                }
            }
        }
        if !sides[0].isEmpty, !sides[1].isEmpty, ConstraintConflicts.firstConflict(sides[0], sides[1]) == nil {
            found.append(ValidationIssue(.constraintsConflict,
                "no constraint of '\(labels[0])' is known to be unsatisfiable together with one of '\(labels[1])' (e.g. english_lowercase vs english_capital, number_words less than 50 vs at least 200, number_bullet_lists vs json_format)"))
        }
        return found
    }
}
