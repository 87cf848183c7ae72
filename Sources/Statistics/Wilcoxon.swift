import Foundation

/// Wilcoxon signed-rank test of paired samples, two-sided. Zero differences are dropped
/// (Wilcox's method, scipy's default `zero_method`). With no ties, no zeros and at most 50 pairs
/// the p-value is exact (scipy's `method="exact"`); otherwise it is the normal approximation
/// with the tie correction of the variance and, by default, the continuity correction
/// (scipy's `method="asymptotic", correction=True`).
public func wilcoxonSignedRank(_ a: [Double], _ b: [Double],
                               continuityCorrection: Bool = true) throws(StatisticsError) -> TestResult {
    let all = try differences(a, b)
    let d = all.filter { $0 != 0 }
    guard !all.isEmpty else { throw .tooFewObservations(needed: 1, got: 0) }
    guard !d.isEmpty else { throw .allDifferencesZero }
    let (ranks, tieSizes) = averageRanks(d.map(abs))
    var rPlus = 0.0, rMinus = 0.0
    for (difference, rank) in zip(d, ranks) {
        if difference > 0 { rPlus += rank } else { rMinus += rank }
    }
    let n = d.count
    let statistic = min(rPlus, rMinus)
    let hasTies = tieSizes.contains { $0 > 1 }
    if !hasTies && d.count == all.count && n <= 50 {
        let p = min(1, 2 * exactSignedRankTail(n: n, atMost: Int(statistic.rounded())))
        return TestResult(statistic: statistic, pValue: p, n: n, approximate: false)
    }
    let count = Double(n)
    let expected = count * (count + 1) / 4
    let tieTerm = tieSizes.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
    let sd = ((count * (count + 1) * (2 * count + 1) - tieTerm / 2) / 24).squareRoot()
    var z = (rPlus - expected) / sd
    if continuityCorrection && z != 0 { z -= (z > 0 ? 0.5 : -0.5) / sd }
    return TestResult(statistic: statistic, pValue: normalTwoSidedP(z: z), n: n, approximate: true)
}

/// P(W <= k) under the null for n untied ranks: the signed-rank sum's law, counted by dynamic
/// programming over which ranks carry a plus sign (2^n equally likely sign patterns).
func exactSignedRankTail(n: Int, atMost k: Int) -> Double {
    let maxSum = n * (n + 1) / 2
    var ways = [Double](repeating: 0, count: maxSum + 1)
    ways[0] = 1
    for rank in 1...n {
        for sum in stride(from: maxSum, through: rank, by: -1) { ways[sum] += ways[sum - rank] }
    }
    let below = ways[0...min(k, maxSum)].reduce(0, +)
    return below / pow(2, Double(n))
}

/// Average ranks (1-based, ties share the mean rank) and the size of each tie group.
func averageRanks(_ values: [Double]) -> (ranks: [Double], tieSizes: [Int]) {
    let order = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
    var ranks = [Double](repeating: 0, count: values.count)
    var tieSizes: [Int] = []
    var start = 0
    while start < order.count {
        var end = start
        while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
        let rank = Double(start + end) / 2 + 1
        for position in start...end { ranks[order[position]] = rank }
        tieSizes.append(end - start + 1)
        start = end + 1
    }
    return (ranks, tieSizes)
}
