/// One finished cell of an experiment as a report sees it: what was run and how it scored.
/// The experiment runner stores these (one SQLite row each); reports read nothing else.
public struct ReportCell: Sendable, Hashable, Codable {
    public var recordID: String
    /// "<type>_<subtype>", e.g. "tone_formal_vs_casual".
    public var conflictType: String
    public var condition: String
    public var policy: String
    /// Fraction of cache entries kept; 1 for `none`.
    public var keepRatio: Double
    public var seed: Int
    /// Scorer name -> score in [0, 1]. A scorer that failed on this cell is absent here and
    /// present in `scorerErrors`: an error is never a score.
    public var scores: [String: Double]
    public var scorerErrors: [String: String]
    /// Set when the cell itself failed (generation error): excluded from every statistic, counted.
    public var error: String?
    public var promptTokens: Int
    public var generatedTokens: Int
    public var cacheBytes: Int
    public var seconds: Double

    public init(recordID: String, conflictType: String, condition: String, policy: String, keepRatio: Double, seed: Int,
                scores: [String: Double], scorerErrors: [String: String] = [:], error: String? = nil,
                promptTokens: Int = 0, generatedTokens: Int = 0, cacheBytes: Int = 0, seconds: Double = 0) {
        self.recordID = recordID
        self.conflictType = conflictType
        self.condition = condition
        self.policy = policy
        self.keepRatio = keepRatio
        self.seed = seed
        self.scores = scores
        self.scorerErrors = scorerErrors
        self.error = error
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.cacheBytes = cacheBytes
        self.seconds = seconds
    }

    /// Cells of different conditions pair when they share everything else.
    public var pairKey: String { "\(recordID)|\(policy)|\(keepRatio)|\(seed)" }
}
