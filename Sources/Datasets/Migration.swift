import Foundation

/// A v1 record: one user turn that asked the model to merge both instructions at once. v1 files
/// are what the original Python tools wrote; the accepted shape is
///
/// ```json
/// {"id": "conflict_001", "conflict_type": "tone_formal_vs_casual", "domain": "business_email",
///  "turns": [{"turn_id": 1, "role": "user", "content": "Write the launch email. Be formal and be casual."}],
///  "conflicting_instructions": ["Use strictly formal language", "Keep it casual and chatty"],
///  "task": "Write the launch email to customers",          // optional; else turns[0].content
///  "expected_behavior": "maintain both Use strictly formal language… context",  // optional, replaced
///  "ground_truth_clusters": ["formal", "casual"],
///  "metadata": {"generated_at": "2025-01-15T10:30:00", "model": "claude-3-5-sonnet", ...}}
/// ```
///
/// Unknown extra fields are ignored; the v1 `expected_behavior` (spliced from instruction
/// fragments) is dropped and rewritten as a sentence.
public struct V1Record: Decodable, Sendable {
    public struct Turn: Decodable, Sendable {
        public var content: String
    }

    public struct Metadata: Decodable, Sendable {
        public var generatedAt: String?
        public var model: String?
        public var reviewed: Bool?
        public var qualityScore: Double?

        enum CodingKeys: String, CodingKey {
            case model, reviewed
            case generatedAt = "generated_at", qualityScore = "quality_score"
        }
    }

    public var id: String
    public var conflictType: String
    public var domain: String
    public var turns: [Turn]
    public var conflictingInstructions: [String]
    public var task: String?
    public var groundTruthClusters: [String]?
    public var metadata: Metadata?

    enum CodingKeys: String, CodingKey {
        case id, domain, turns, task, metadata
        case conflictType = "conflict_type", conflictingInstructions = "conflicting_instructions"
        case groundTruthClusters = "ground_truth_clusters"
    }
}

/// Why a v1 record could not be migrated.
public struct MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var message: String
    public var description: String { "record \(index): \(message)" }
}

/// Turns v1 records into v2 three-turn records.
public enum Migration {
    public static let originalStructure = "v1_single_turn_merged"
    public static let newStructure = "v2_three_turn_isolated"

    public static func migrate(_ record: V1Record, at date: Date) throws -> ConflictRecord {
        let instructions = record.conflictingInstructions.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard instructions.count == 2, !instructions.contains(where: \.isEmpty) else {
            throw MigrationError(index: 0, message: "conflicting_instructions must hold exactly 2 non-empty instructions, found \(instructions.count)")
        }
        guard let task = (record.task ?? record.turns.first?.content)?.trimmingCharacters(in: .whitespacesAndNewlines), !task.isEmpty else {
            throw MigrationError(index: 0, message: "no task: neither 'task' nor turns[0].content is set")
        }
        let category = ConflictCategory(conflictType: record.conflictType)
        let clusters = record.groundTruthClusters ?? category.map { [$0.sides.0, $0.sides.1] } ?? ["instruction_a", "instruction_b"]
        let first = sentence(instructions[0]), second = sentence(instructions[1])
        let query = "Now give me both versions of that, one after the other: the first following my first instruction "
            + "(\(quoted(instructions[0]))), the second following my second one (\(quoted(instructions[1])))."
        let expected = "Two separate versions of the same piece (\(clause(task))). "
            + "Version one follows only the first instruction: \(first) "
            + "Version two follows only the second instruction: \(second) "
            + "Neither version should blend in the other instruction."
        let rdicValue = "With one KV cache per instruction, each version is generated from a context holding only its own "
            + "instruction, so the \(clusters[0].replacingOccurrences(of: "_", with: " ")) and "
            + "\(clusters[1].replacingOccurrences(of: "_", with: " ")) versions cannot bleed into each other."
        let metadata = RecordMetadata(
            generatedAt: record.metadata?.generatedAt ?? RecordMetadata.timestamp(date), model: record.metadata?.model ?? "unknown",
            reviewed: record.metadata?.reviewed ?? false, qualityScore: record.metadata?.qualityScore,
            restructuredAt: RecordMetadata.timestamp(date), originalStructure: originalStructure, newStructure: newStructure)
        return ConflictRecord(
            id: record.id, conflictType: record.conflictType, domain: record.domain,
            turns: [.instruction(1, instructions[0], content: "\(sentence(task)) \(first)"),
                    .instruction(2, instructions[1], content: "\(sentence(task)) \(second)"),
                    .query(3, query, expectedBehavior: expected, rdicValue: rdicValue)],
            groundTruthClusters: clusters, metadata: metadata)
    }

    /// Migrates a v1 file to v2. Writing over the input first copies it to `<input>.v1.bak`
    /// (`.v1.bak.1`, `.2`... if that exists), so the original is never lost.
    /// - Returns: the migrated records and the backup path, if one was made.
    @discardableResult
    public static func migrateFile(_ input: URL, to output: URL? = nil, at date: Date = Date()) throws
        -> (records: [ConflictRecord], backup: URL?) {
        let values = try DatasetFile.readValues(input)
        let records = try values.enumerated().map { index, value in
            do {
                let v1 = try JSONDecoder().decode(V1Record.self, from: JSONEncoder().encode(value))
                return try migrate(v1, at: date)
            } catch var error as MigrationError {
                error.index = index
                throw error
            } catch {
                throw MigrationError(index: index, message: "not a v1 record: \(decodingMessage(error))")
            }
        }
        let destination = output ?? input
        var backup: URL?
        if destination.standardizedFileURL == input.standardizedFileURL {
            var candidate = URL(fileURLWithPath: input.path + ".v1.bak")
            var suffix = 1
            while FileManager.default.fileExists(atPath: candidate.path) {
                candidate = URL(fileURLWithPath: input.path + ".v1.bak.\(suffix)")
                suffix += 1
            }
            try FileManager.default.copyItem(at: input, to: candidate)
            backup = candidate
        }
        try DatasetFile.write(records, to: destination)
        return (records, backup)
    }

    private static func decodingMessage(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        default: return "\(error)"
        }
    }

    /// "use formal language" -> "Use formal language."
    private static func sentence(_ text: String) -> String {
        var result = text.prefix(1).uppercased() + text.dropFirst()
        if let last = result.last, !".!?".contains(last) { result += "." }
        return result
    }

    /// "Write the launch email." -> "write the launch email"
    private static func clause(_ text: String) -> String {
        var result = text
        while let last = result.last, ".!? ".contains(last) { result.removeLast() }
        return result.prefix(1).lowercased() + result.dropFirst()
    }

    private static func quoted(_ text: String) -> String {
        var result = text
        while let last = result.last, ".!? ".contains(last) { result.removeLast() }
        return "\u{201C}\(result)\u{201D}"
    }
}
