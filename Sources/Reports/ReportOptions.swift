/// How a report is computed. The defaults suit a paper: 10,000 bootstrap resamples, 95%
/// intervals, every pair of conditions compared.
public struct ReportOptions: Sendable {
    /// Conditions in display order; conditions not listed follow by name.
    public var conditionOrder: [String]
    /// Compare every condition against this one only (fewer comparisons, so Holm costs less
    /// power); nil compares every pair.
    public var baseline: String?
    public var bootstrapResamples: Int
    public var bootstrapSeed: UInt64
    public var confidenceLevel: Double

    public static let experimentConditions = ["sequential", "prompted", "turn_based", "semantic", "random_clusters", "separate_agents"]

    public init(conditionOrder: [String] = ReportOptions.experimentConditions, baseline: String? = nil,
                bootstrapResamples: Int = 10_000, bootstrapSeed: UInt64 = 0, confidenceLevel: Double = 0.95) {
        self.conditionOrder = conditionOrder
        self.baseline = baseline
        self.bootstrapResamples = bootstrapResamples
        self.bootstrapSeed = bootstrapSeed
        self.confidenceLevel = confidenceLevel
    }
}

/// Why a report could not be made.
public enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two cells of one condition share a pair key: the store holds a cell twice.
    case duplicateCell(condition: String, pairKey: String)
    case noCells
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .duplicateCell(let condition, let key): return "duplicate cell for condition \(condition): \(key)"
        case .noCells: return "no cells to report"
        case .writeFailed(let path, let reason): return "cannot write \(path): \(reason)"
        }
    }
}
