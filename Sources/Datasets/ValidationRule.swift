/// The rules `validate` enforces, one id per rule so reports and tests can name them.
public enum ValidationRule: String, Codable, CaseIterable, Sendable {
    /// Required fields present, JSON types right, no unknown fields.
    case structure
    /// `id` is `conflict_NNN` (three or more digits).
    case idFormat = "id_format"
    /// No two records share an `id`.
    case idUnique = "id_unique"
    /// `conflict_type` is `<type>_<subtype>` with a known type and one of its subtypes.
    case conflictType = "conflict_type"
    case domain
    case purpose
    /// Three turns for `context_isolation_test`, five or more for `multi_turn_instruction_following`.
    case turnCount = "turn_count"
    /// `turn_id` counts 1, 2, 3...; every role is `user`.
    case turnOrder = "turn_order"
    /// Instruction turns carry a non-empty `instruction` and `content` (and no query fields); the
    /// last turn carries a non-empty `query`, `expected_behavior` and `rdic_value` (and no
    /// instruction fields).
    case turnFields = "turn_fields"
    /// Multi-turn: every instruction turn names one of the two clusters, and each cluster has at
    /// least two instruction turns; three-turn records: `cluster`, if given, is the implied one.
    case turnClusters = "turn_clusters"
    /// Exactly two distinct snake_case labels.
    case clusters
    /// `generated_at` (and `restructured_at`) ISO 8601, `model` non-empty, `quality_score` 0...1.
    case metadata
    /// The final query asks for both versions.
    case queryAsksBoth = "query_asks_both"
    /// `expected_behavior` reads as sentences (a capital first letter, final punctuation, no
    /// "…" splice), not fragments glued together as v1 tools wrote it.
    case expectedBehaviorReadable = "expected_behavior_readable"
    /// The instructions of the two clusters are not the same instruction reworded trivially.
    case instructionsDiffer = "instructions_differ"
    /// Every constraint has a known IFEval id and valid arguments.
    case constraintValid = "constraint_valid"
    /// Constrained records: both clusters carry constraints, at least one cross-cluster pair is
    /// unsatisfiable together, and no cluster contradicts itself.
    case constraintsConflict = "constraints_conflict"
}

/// One broken rule in one record.
public struct ValidationIssue: Codable, Sendable, Equatable, CustomStringConvertible {
    public var rule: ValidationRule
    public var message: String

    public init(_ rule: ValidationRule, _ message: String) {
        self.rule = rule
        self.message = message
    }

    public var description: String { "[\(rule.rawValue)] \(message)" }
}
