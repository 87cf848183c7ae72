import Datasets
import Engine
import Foundation

/// Which cache each instruction turn of a record goes to: the clusters in version order
/// (Version 1 is `labels[0]`) and, per instruction turn id, its cluster's index. Ground truth
/// comes from the dataset; a reasoning model's clustering plugs in as another assignment.
public struct ClusterAssignment: Sendable, Codable, Equatable {
    public var labels: [String]
    /// Instruction turn id -> index into `labels`.
    public var turns: [Int: Int]
    /// Where it came from ("ground_truth", "random", a model's name...), stored with each cell.
    public var source: String

    public init(labels: [String], turns: [Int: Int], source: String) {
        self.labels = labels
        self.turns = turns
        self.source = source
    }

    /// The dataset's own clusters.
    public static func groundTruth(_ record: ConflictRecord) throws(ExperimentError) -> ClusterAssignment {
        let labels = record.groundTruthClusters
        guard labels.count >= 2 else { throw .badRecord(record.id, "it names \(labels.count) ground-truth clusters") }
        var turns: [Int: Int] = [:]
        for turn in record.instructionTurns {
            guard let label = record.cluster(of: turn), let index = labels.firstIndex(of: label) else {
                throw .badRecord(record.id, "turn \(turn.turnID) has no ground-truth cluster")
            }
            turns[turn.turnID] = index
        }
        return ClusterAssignment(labels: labels, turns: turns, source: "ground_truth")
    }

    /// `random_clusters`: the same caches, each instruction turn sent to one uniformly at
    /// random; the draw depends only on `seed` and the record id.
    public static func random(_ record: ConflictRecord, clusters labels: [String], seed: Int) -> ClusterAssignment {
        var rng = SplitMix64(seed: UInt64(bitPattern: Int64(seed)) ^ stableHash(record.id))
        var turns: [Int: Int] = [:]
        for turn in record.instructionTurns { turns[turn.turnID] = rng.index(below: labels.count) }
        return ClusterAssignment(labels: labels, turns: turns, source: "random")
    }

    /// Assignments by record id from a JSON object `{"<record id>": {"labels": [...], "turns":
    /// {"<turn id>": <label index>}, "source": "..."}}`.
    public static func load(path: String) throws(ExperimentError) -> [String: ClusterAssignment] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .clustersFile(path, "cannot read it") }
        do {
            return try JSONDecoder().decode([String: ClusterAssignment].self, from: data)
        } catch {
            throw .clustersFile(path, "\(error)")
        }
    }

    /// The instruction turns of cluster `index`, in conversation order.
    public func turns(of index: Int, in record: ConflictRecord) -> [ConflictTurn] {
        record.instructionTurns.filter { turns[$0.turnID] == index }
    }
}

/// FNV-1a over the UTF-8 bytes: a hash that, unlike `Hasher`, is the same in every process.
func stableHash(_ text: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}
