/// Why a statistic cannot be computed from the data given. Reports show these as "n/a" rather
/// than inventing a number.
public enum StatisticsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer observations (or non-zero paired differences) than the statistic needs.
    case tooFewObservations(needed: Int, got: Int)
    /// Paired samples of different lengths.
    case lengthMismatch(Int, Int)
    /// Every paired difference is the same, so the t statistic and d_z are undefined.
    case zeroVariance
    /// Every paired difference is zero: the signed-rank test has nothing to rank.
    case allDifferencesZero

    public var description: String {
        switch self {
        case .tooFewObservations(let needed, let got): return "needs at least \(needed) observations, got \(got)"
        case .lengthMismatch(let a, let b): return "paired samples differ in length (\(a) vs \(b))"
        case .zeroVariance: return "all paired differences are equal (zero variance)"
        case .allDifferencesZero: return "all paired differences are zero"
        }
    }
}

/// Arithmetic mean; nil for an empty sample.
public func mean(_ values: [Double]) -> Double? {
    values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
}

/// Sample standard deviation (n - 1 denominator, as numpy's `ddof=1`); nil below two values.
public func standardDeviation(_ values: [Double]) -> Double? {
    guard values.count >= 2, let m = mean(values) else { return nil }
    let squares = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
    return (squares / Double(values.count - 1)).squareRoot()
}

/// The q-quantile with linear interpolation between order statistics (numpy's default,
/// Hyndman-Fan type 7), of values already sorted ascending.
public func quantile(sorted values: [Double], _ q: Double) -> Double {
    precondition(!values.isEmpty)
    let position = q * Double(values.count - 1)
    let lower = Int(position.rounded(.down))
    let upper = min(lower + 1, values.count - 1)
    let fraction = position - Double(lower)
    return values[lower] + (values[upper] - values[lower]) * fraction
}

/// Paired differences a[i] - b[i].
func differences(_ a: [Double], _ b: [Double]) throws(StatisticsError) -> [Double] {
    guard a.count == b.count else { throw .lengthMismatch(a.count, b.count) }
    return zip(a, b).map { $0 - $1 }
}
