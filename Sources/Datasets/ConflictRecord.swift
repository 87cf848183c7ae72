import Foundation
import IFEval

/// One record of the conflict dataset, schema v2. Field names on the wire are snake_case,
/// exactly as `conflict-schema-v2.json` lists them.
public struct ConflictRecord: Codable, Sendable, Equatable {
    public var id: String
    public var conflictType: String
    public var domain: String
    public var purpose: String
    public var turns: [ConflictTurn]
    public var groundTruthClusters: [String]
    public var metadata: RecordMetadata

    public init(id: String, conflictType: String, domain: String, purpose: String = RecordPurpose.contextIsolation.rawValue,
                turns: [ConflictTurn], groundTruthClusters: [String], metadata: RecordMetadata) {
        self.id = id
        self.conflictType = conflictType
        self.domain = domain
        self.purpose = purpose
        self.turns = turns
        self.groundTruthClusters = groundTruthClusters
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case id, domain, purpose, turns, metadata
        case conflictType = "conflict_type"
        case groundTruthClusters = "ground_truth_clusters"
    }

    public var category: ConflictCategory? { ConflictCategory(conflictType: conflictType) }
    /// The turns that carry an instruction: all but the last.
    public var instructionTurns: [ConflictTurn] { Array(turns.dropLast()) }
    /// The final turn, which asks for the outputs.
    public var queryTurn: ConflictTurn? { turns.last }
    public var hasConstraints: Bool { turns.contains { !($0.constraints ?? []).isEmpty } }

    /// The cluster an instruction turn belongs to: its `cluster` field, else (three-turn records)
    /// turn 1 -> first label, turn 2 -> second label.
    public func cluster(of turn: ConflictTurn) -> String? {
        if let cluster = turn.cluster { return cluster }
        guard purpose == RecordPurpose.contextIsolation.rawValue, turn.turnID == 1 || turn.turnID == 2,
              groundTruthClusters.count == 2 else { return nil }
        return groundTruthClusters[turn.turnID - 1]
    }

    /// The constraints a version for `cluster` must meet: those of every instruction turn in
    /// that cluster, accumulated in turn order.
    public func constraints(forCluster cluster: String) -> [InstructionConstraint] {
        instructionTurns.filter { self.cluster(of: $0) == cluster }.flatMap { $0.constraints ?? [] }
    }
}

/// One user turn. Instruction turns set `instruction`, `content` and optionally `constraints`
/// (and `cluster` in multi-turn records); the final turn sets `query`, `expected_behavior` and
/// `rdic_value`. Absent fields are omitted from the JSON.
public struct ConflictTurn: Codable, Sendable, Equatable {
    public var turnID: Int
    public var role: String
    public var instruction: String?
    public var content: String?
    public var constraints: [InstructionConstraint]?
    public var cluster: String?
    public var query: String?
    public var expectedBehavior: String?
    public var rdicValue: String?

    enum CodingKeys: String, CodingKey {
        case role, instruction, content, constraints, cluster, query
        case turnID = "turn_id"
        case expectedBehavior = "expected_behavior"
        case rdicValue = "rdic_value"
    }

    public static func instruction(_ id: Int, _ instruction: String, content: String,
                                   constraints: [InstructionConstraint]? = nil, cluster: String? = nil) -> ConflictTurn {
        ConflictTurn(turnID: id, role: "user", instruction: instruction, content: content, constraints: constraints, cluster: cluster)
    }

    public static func query(_ id: Int, _ query: String, expectedBehavior: String, rdicValue: String) -> ConflictTurn {
        ConflictTurn(turnID: id, role: "user", query: query, expectedBehavior: expectedBehavior, rdicValue: rdicValue)
    }
}

/// Provenance and review state. `quality_score` (0...1) is null until a reviewer scores it;
/// the `restructured_at` / `original_structure` / `new_structure` trio is set by `migrate`.
public struct RecordMetadata: Codable, Sendable, Equatable {
    public var generatedAt: String
    public var model: String
    public var reviewed: Bool
    public var qualityScore: Double?
    public var restructuredAt: String?
    public var originalStructure: String?
    public var newStructure: String?

    public init(generatedAt: String, model: String, reviewed: Bool = false, qualityScore: Double? = nil,
                restructuredAt: String? = nil, originalStructure: String? = nil, newStructure: String? = nil) {
        self.generatedAt = generatedAt
        self.model = model
        self.reviewed = reviewed
        self.qualityScore = qualityScore
        self.restructuredAt = restructuredAt
        self.originalStructure = originalStructure
        self.newStructure = newStructure
    }

    enum CodingKeys: String, CodingKey {
        case model, reviewed
        case generatedAt = "generated_at"
        case qualityScore = "quality_score"
        case restructuredAt = "restructured_at"
        case originalStructure = "original_structure"
        case newStructure = "new_structure"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(generatedAt, forKey: .generatedAt)
        try container.encode(model, forKey: .model)
        try container.encode(reviewed, forKey: .reviewed)
        try container.encode(qualityScore, forKey: .qualityScore) // null, not absent: the field is required
        try container.encodeIfPresent(restructuredAt, forKey: .restructuredAt)
        try container.encodeIfPresent(originalStructure, forKey: .originalStructure)
        try container.encodeIfPresent(newStructure, forKey: .newStructure)
    }

    /// ISO 8601 in UTC, the form `generated_at` and `restructured_at` use.
    public static func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
