import Engine
import Foundation

/// Split, sample and stats over loaded records.
public enum DatasetOperations {
    /// Stratified by conflict type: each type's records are shuffled with the seed and the first
    /// `round(trainFraction * n)` go to train, so both halves keep the type mix. Records keep
    /// their file order within each half.
    public static func split(_ records: [ConflictRecord], trainFraction: Double = 0.8, seed: UInt64 = 42)
        -> (train: [ConflictRecord], test: [ConflictRecord]) {
        var generator = SplitMix64(seed: seed)
        var trainIndices = Set<Int>()
        let groups = Dictionary(grouping: records.indices) { records[$0].category?.kind.rawValue ?? records[$0].conflictType }
        for key in groups.keys.sorted() {
            var indices = groups[key]!
            generator.shuffle(&indices)
            let count = Int((trainFraction * Double(indices.count)).rounded())
            trainIndices.formUnion(indices.prefix(count))
        }
        let train = records.indices.filter { trainIndices.contains($0) }.map { records[$0] }
        let test = records.indices.filter { !trainIndices.contains($0) }.map { records[$0] }
        return (train, test)
    }

    /// `count` records drawn without replacement with the seed, in file order.
    public static func sample(_ records: [ConflictRecord], count: Int, seed: UInt64 = 42) -> [ConflictRecord] {
        var indices = Array(records.indices)
        var generator = SplitMix64(seed: seed)
        generator.shuffle(&indices)
        return indices.prefix(max(0, count)).sorted().map { records[$0] }
    }

    /// A record laid out for a person to review.
    public static func reviewText(_ record: ConflictRecord) -> String {
        var lines = ["== \(record.id)  \(record.conflictType)  \(record.domain)  [\(record.groundTruthClusters.joined(separator: " / "))]"]
        for turn in record.turns {
            if let query = turn.query {
                lines.append("  turn \(turn.turnID) (query): \(query)")
                lines.append("    expected: \(turn.expectedBehavior ?? "")")
                lines.append("    rdic value: \(turn.rdicValue ?? "")")
            } else {
                let cluster = record.cluster(of: turn).map { " [\($0)]" } ?? ""
                lines.append("  turn \(turn.turnID)\(cluster): \(turn.instruction ?? "")")
                lines.append("    content: \(turn.content ?? "")")
                for constraint in turn.constraints ?? [] {
                    let kwargs = constraint.kwargs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.text)" }.joined(separator: ", ")
                    lines.append("    constraint: \(constraint.id)\(kwargs.isEmpty ? "" : " (\(kwargs))")")
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Summary figures of a dataset.
public struct DatasetStats: Codable, Sendable, Equatable {
    public var records: Int
    public var multiTurn: Int
    public var withConstraints: Int
    public var reviewed: Int
    public var meanQualityScore: Double?
    public var turnCounts: [String: Int]
    public var constraintIDs: [String: Int]
    public var meanInstructionWords: Double
    public var distribution: Distribution

    enum CodingKeys: String, CodingKey {
        case records, reviewed, distribution
        case multiTurn = "multi_turn", withConstraints = "with_constraints", meanQualityScore = "mean_quality_score"
        case turnCounts = "turn_counts", constraintIDs = "constraint_ids", meanInstructionWords = "mean_instruction_words"
    }

    public init(_ records: [ConflictRecord]) {
        self.records = records.count
        multiTurn = records.filter { $0.purpose == RecordPurpose.multiTurn.rawValue }.count
        withConstraints = records.filter(\.hasConstraints).count
        reviewed = records.filter(\.metadata.reviewed).count
        let scores = records.compactMap(\.metadata.qualityScore)
        meanQualityScore = scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count)
        turnCounts = Dictionary(grouping: records) { String($0.turns.count) }.mapValues(\.count)
        var ids: [String: Int] = [:]
        for constraint in records.flatMap({ $0.turns.flatMap { $0.constraints ?? [] } }) { ids[constraint.id, default: 0] += 1 }
        constraintIDs = ids
        let instructionWords = records.flatMap(\.instructionTurns).map { QueryCheck.words($0.instruction ?? "").count }
        meanInstructionWords = instructionWords.isEmpty ? 0 : Double(instructionWords.reduce(0, +)) / Double(instructionWords.count)
        distribution = Distribution(records)
    }

    public func rendered() -> String {
        var lines = [
            "records: \(records) (\(multiTurn) multi-turn, \(withConstraints) with verifiable constraints)",
            "reviewed: \(reviewed)" + (meanQualityScore.map { String(format: ", mean quality score %.2f", $0) } ?? ""),
            "turns per record: " + turnCounts.sorted { Int($0.key)! < Int($1.key)! }.map { "\($0.key): \($0.value)" }.joined(separator: ", "),
            String(format: "mean instruction length: %.1f words", meanInstructionWords),
        ]
        if !constraintIDs.isEmpty {
            lines.append("constraints:")
            lines += constraintIDs.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "  \($0.key.padding(toLength: 48, withPad: " ", startingAt: 0)) \($0.value)" }
        }
        lines.append(distribution.rendered())
        return lines.joined(separator: "\n")
    }
}
