/// The outcome of a two-sided test on paired samples.
public struct TestResult: Sendable, Hashable, Codable {
    /// t for the t-test; the smaller signed-rank sum min(W+, W-) for Wilcoxon (as scipy reports).
    public var statistic: Double
    public var pValue: Double
    /// Pairs that entered the test (Wilcoxon drops zero differences).
    public var n: Int
    /// True when the p-value comes from the normal approximation rather than the exact law.
    public var approximate: Bool

    public init(statistic: Double, pValue: Double, n: Int, approximate: Bool) {
        self.statistic = statistic
        self.pValue = pValue
        self.n = n
        self.approximate = approximate
    }
}

/// Paired (dependent-samples) t-test of mean(a - b) = 0, two-sided, df = n - 1; matches
/// `scipy.stats.ttest_rel(a, b)`.
public func pairedTTest(_ a: [Double], _ b: [Double]) throws(StatisticsError) -> TestResult {
    let d = try differences(a, b)
    guard d.count >= 2 else { throw .tooFewObservations(needed: 2, got: d.count) }
    let m = mean(d)!, s = standardDeviation(d)!
    guard s > 0 else { throw .zeroVariance }
    let t = m / (s / Double(d.count).squareRoot())
    return TestResult(statistic: t, pValue: studentTTwoSidedP(t: t, degreesOfFreedom: Double(d.count - 1)),
                      n: d.count, approximate: false)
}

/// Paired Cohen's d (d_z): the mean difference over the standard deviation of the differences.
public func pairedCohensD(_ a: [Double], _ b: [Double]) throws(StatisticsError) -> Double {
    let d = try differences(a, b)
    guard d.count >= 2 else { throw .tooFewObservations(needed: 2, got: d.count) }
    let s = standardDeviation(d)!
    guard s > 0 else { throw .zeroVariance }
    return mean(d)! / s
}
