/// A two-sided confidence interval.
public struct ConfidenceInterval: Sendable, Hashable, Codable {
    public var lower: Double
    public var upper: Double
    public var level: Double

    public init(lower: Double, upper: Double, level: Double) {
        self.lower = lower
        self.upper = upper
        self.level = level
    }

    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }
}

/// Percentile bootstrap interval for the mean: `resamples` resamples with replacement drawn from
/// a generator seeded by `seed`, so the same sample and seed always give the same interval (a
/// report rebuilt from the same cells must be byte-identical). nil for an empty sample.
public func bootstrapMeanInterval(_ values: [Double], level: Double = 0.95, resamples: Int = 10_000,
                                  seed: UInt64 = 0) -> ConfidenceInterval? {
    guard !values.isEmpty, resamples > 0 else { return nil }
    var generator = SeededGenerator(seed: seed)
    let n = values.count
    var means = [Double](repeating: 0, count: resamples)
    for r in 0..<resamples {
        var sum = 0.0
        for _ in 0..<n { sum += values[generator.index(below: n)] }
        means[r] = sum / Double(n)
    }
    means.sort()
    let alpha = (1 - level) / 2
    return ConfidenceInterval(lower: quantile(sorted: means, alpha), upper: quantile(sorted: means, 1 - alpha), level: level)
}

/// SplitMix64 with its own bounded draw, so resampling does not depend on how the standard
/// library maps random bits to a range (which it does not promise to keep across releases).
struct SeededGenerator: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound by the multiply-high method (bias below 2^-40 for report-sized bounds).
    mutating func index(below bound: Int) -> Int {
        Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}
