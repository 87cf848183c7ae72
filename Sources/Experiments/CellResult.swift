import Foundation
import Reports

/// Identifies one cell of the grid: record x condition x policy x keep ratio x seed.
public struct CellKey: Sendable, Hashable, Codable {
    public var recordID: String
    public var condition: Condition
    public var policy: String
    public var keepRatio: Double
    public var seed: Int

    public init(recordID: String, condition: Condition, policy: String, keepRatio: Double, seed: Int) {
        self.recordID = recordID
        self.condition = condition
        self.policy = policy
        self.keepRatio = keepRatio
        self.seed = seed
    }

    /// The primary key of its row.
    public var id: String { "\(recordID)|\(condition.rawValue)|\(policy)|\(keepRatio)|\(seed)" }
}

/// What running a cell measured, before scoring.
public struct CellMeasurement: Sendable, Equatable {
    /// The joined output ("Version 1: ... Version 2: ..." in the per-cluster conditions).
    public var output = ""
    /// One per cluster, in label order: what the scorers read.
    public var versions: [String] = []
    /// Every answer of every thread, in order (thread by thread).
    public var answers: [[String]] = []
    /// Tokens of the final prompts (the whole conversation each thread's last answer saw).
    public var promptTokens = 0
    /// Prompt tokens actually run through the model (the rest came from caches).
    public var prefilledTokens = 0
    public var generatedTokens = 0
    /// Tokens left in the caches at the end, after compression.
    public var cacheTokens = 0
    /// KV bytes the cell's caches hold at the end, blocks shared by forks counted once.
    public var cacheBytes = 0
    public var prefillSeconds = 0.0
    public var decodeSeconds = 0.0
    /// Top log-probabilities of each token of each thread's last answer, when asked for (tests).
    public var finalLogprobs: [[[Float]]] = []
    public init() {}
}

/// One finished cell: the row the store keeps.
public struct CellResult: Sendable, Equatable {
    public var key: CellKey
    public var conflictType: String
    public var dataset: String
    public var model: String
    public var clusters: ClusterAssignment
    public var measurement: CellMeasurement
    public var seconds: Double
    /// Scorer -> score in [0, 1]; a scorer that failed is in `scorerErrors` instead.
    public var scores: [String: Double]
    public var scorerErrors: [String: String]
    /// The cell itself failed (generation error); its scores are empty.
    public var error: String?

    public init(key: CellKey, conflictType: String, dataset: String, model: String, clusters: ClusterAssignment,
                measurement: CellMeasurement, seconds: Double, scores: [String: Double] = [:],
                scorerErrors: [String: String] = [:], error: String? = nil) {
        self.key = key
        self.conflictType = conflictType
        self.dataset = dataset
        self.model = model
        self.clusters = clusters
        self.measurement = measurement
        self.seconds = seconds
        self.scores = scores
        self.scorerErrors = scorerErrors
        self.error = error
    }

    /// The cell as reports read it.
    public var reportCell: ReportCell {
        ReportCell(recordID: key.recordID, conflictType: conflictType, condition: key.condition.rawValue, policy: key.policy,
                   keepRatio: key.keepRatio, seed: key.seed, scores: scores, scorerErrors: scorerErrors, error: error,
                   promptTokens: measurement.promptTokens, generatedTokens: measurement.generatedTokens,
                   cacheBytes: measurement.cacheBytes, seconds: seconds)
    }
}
