import Testing
@testable import Statistics

// Expected values come from scipy 1.17.1 and scikit-learn 1.9.1 on these exact inputs
// (pip-installed outside the repository): `stats.ttest_rel(a, b)`, `stats.wilcoxon(a, b,
// method="exact")` or `stats.wilcoxon(a, b, method="asymptotic", correction=True/False)`,
// `special.betainc(a, b, x)`, `d.mean() / d.std(ddof=1)`, `adjusted_rand_score`,
// `normalized_mutual_info_score`. The inputs are ours (the 30- and 60-pair samples were drawn
// once with numpy's default_rng(7) and (11) and rounded; they are written out here).

func close(_ actual: Double, _ expected: Double, tolerance: Double = 1e-10) -> Bool {
    abs(actual - expected) <= tolerance * max(1, abs(expected))
}

let a8 = [0.82, 0.61, 0.77, 0.90, 0.55, 0.68, 0.73, 0.59]
let b8 = [0.70, 0.64, 0.60, 0.85, 0.41, 0.66, 0.58, 0.62]
let a30 = [0.625, 0.897, 0.776, 0.225, 0.3, 0.874, 0.005, 0.821, 0.797, 0.468, 0.303, 0.278, 0.255, 0.445, 0.505,
           0.553, 0.996, 0.793, 0.622, 0.989, 0.215, 0.16, 0.613, 0.044, 0.036, 0.515, 0.466, 0.917, 0.629, 0.514]
let b30 = [0.422, 0.799, 0.628, 0.094, 0.356, 0.743, -0.048, 0.859, 0.689, 0.407, 0.264, 0.234, 0.082, 0.403, 0.591,
           0.348, 1.032, 0.755, 0.508, 1.139, 0.241, -0.01, 0.57, 0.052, -0.033, 0.533, 0.409, 0.934, 0.723, 0.396]
let a60 = [0.1286, 0.4993, 0.6015, 0.0287, 0.1479, 0.9282, 0.0704, 0.1298, 0.9483, 0.6219, 0.369, 0.5114, 0.6628,
           0.2753, 0.138, 0.788, 0.6704, 0.5124, 0.8167, 0.5491, 0.9809, 0.2045, 0.5537, 0.4836, 0.3533, 0.5916, 0.2353,
           0.8022, 0.8673, 0.1288, 0.4671, 0.2771, 0.0831, 0.8959, 0.4299, 0.1477, 0.6734, 0.2022, 0.9014, 0.2171,
           0.0331, 0.2008, 0.3457, 0.4689, 0.9061, 0.6974, 0.3393, 0.0169, 0.1598, 0.9964, 0.4597, 0.691, 0.0547,
           0.0341, 0.8459, 0.5879, 0.3087, 0.3174, 0.0892, 0.1727]
let b60 = [0.1336, 0.6075, 0.5876, 0.0569, 0.2122, 0.8706, 0.1603, 0.1493, 1.0275, 0.5997, 0.5076, 0.6019, 0.675,
           0.3685, 0.294, 0.9971, 0.543, 0.6307, 0.8932, 0.5697, 0.9102, 0.3602, 0.4575, 0.5703, 0.5135, 0.4616, 0.235,
           0.7013, 0.9217, 0.3102, 0.6995, 0.1293, 0.0556, 0.9963, 0.6178, 0.2198, 0.6288, 0.2619, 0.9297, 0.2267,
           -0.0103, 0.2695, 0.4065, 0.4896, 0.9139, 0.5989, 0.3207, 0.1675, 0.1707, 0.8824, 0.6231, 0.774, 0.2955,
           0.0704, 0.8298, 0.4731, 0.4711, 0.6044, 0.0371, 0.138]

@Test func meanAndSampleStandardDeviation() {
    #expect(mean([]) == nil)
    #expect(standardDeviation([1]) == nil)
    #expect(close(mean([2, 4, 4, 4, 5, 5, 7, 9])!, 5))
    // Population sd of this classic sample is 2; the n-1 version is sqrt(32/7).
    #expect(close(standardDeviation([2, 4, 4, 4, 5, 5, 7, 9])!, (32.0 / 7).squareRoot()))
}

@Test func incompleteBetaMatchesScipy() {
    let cases: [(Double, Double, Double, Double)] = [
        (2, 3, 0.4, 0.5247999999999999), (0.5, 0.5, 0.3, 0.36901011956554536), (15, 0.5, 0.9, 0.07785867031466781),
        (100, 200, 0.35, 0.7325714649575441), (3.5, 0.5, 0.999, 0.9356322688440224),
    ]
    for (a, b, x, expected) in cases {
        #expect(close(regularizedIncompleteBeta(a: a, b: b, x: x), expected), "I_\(x)(\(a), \(b))")
    }
    #expect(regularizedIncompleteBeta(a: 2, b: 3, x: 0) == 0)
    #expect(regularizedIncompleteBeta(a: 2, b: 3, x: 1) == 1)
}

@Test func pairedTTestMatchesScipy() throws {
    let r8 = try pairedTTest(a8, b8)
    #expect(close(r8.statistic, 2.55694469878569) && close(r8.pValue, 0.03771937727716844))
    let r3 = try pairedTTest([1.0, 2.5, 0.5], [0.2, 0.4, 0.9])
    #expect(close(r3.statistic, 1.1543927413490254) && close(r3.pValue, 0.36764563657163163))
    let r30 = try pairedTTest(a30, b30)
    #expect(close(r30.statistic, 3.0496115685847744) && close(r30.pValue, 0.004857008366893816))
    // Swapping the samples flips t and keeps p.
    let swapped = try pairedTTest(b30, a30)
    #expect(close(swapped.statistic, -r30.statistic) && close(swapped.pValue, r30.pValue))
}

@Test func pairedTTestRejectsDegenerateInput() {
    #expect(throws: StatisticsError.zeroVariance) { try pairedTTest([1, 2, 3], [0, 1, 2]) }
    #expect(throws: StatisticsError.lengthMismatch(2, 3)) { try pairedTTest([1, 2], [0, 1, 2]) }
    #expect(throws: StatisticsError.tooFewObservations(needed: 2, got: 1)) { try pairedTTest([1], [0]) }
}

@Test func pairedCohensDIsMeanOverSdOfDifferences() throws {
    #expect(close(try pairedCohensD(a8, b8), 0.9040164678151776))
    #expect(close(try pairedCohensD(a30, b30), 0.5567803492475314))
}

@Test func wilcoxonExactForSmallUntiedSamples() throws {
    let a = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30, 2.01]
    let b = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29, 1.70]
    let r = try wilcoxonSignedRank(a, b)
    #expect(r.statistic == 5 && close(r.pValue, 0.01953125) && !r.approximate && r.n == 10)
    // The whole exact law: P(W <= k) for n = 4 counts sign patterns out of 16 by hand.
    #expect(exactSignedRankTail(n: 4, atMost: 0) == 1.0 / 16)
    #expect(exactSignedRankTail(n: 4, atMost: 3) == 5.0 / 16) // {}, {1}, {2}, {3}, {1,2}
    #expect(exactSignedRankTail(n: 4, atMost: 10) == 1)
}

@Test func wilcoxonNormalApproximationWithTiesAndZeros() throws {
    let a: [Double] = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0.5, 1, 0.5]
    let b: [Double] = [0, 0, 1, 0, 0, 0, 0.5, 1, 1, 0, 0, 0, 0.5, 0]
    let corrected = try wilcoxonSignedRank(a, b)
    #expect(corrected.approximate && corrected.n == 10) // four zero differences dropped
    #expect(corrected.statistic == 7.5 && close(corrected.pValue, 0.040522745151477156))
    let plain = try wilcoxonSignedRank(a, b, continuityCorrection: false)
    #expect(close(plain.pValue, 0.03564948854888944))
    let r30 = try wilcoxonSignedRank(a30, b30) // tied |differences| in floating point
    #expect(r30.statistic == 95.5 && close(r30.pValue, 0.004989253301327783))
}

@Test func wilcoxonLargeSampleUsesNormalApproximation() throws {
    let r = try wilcoxonSignedRank(a60, b60)
    #expect(r.approximate && r.statistic == 519 && close(r.pValue, 0.003596818032577716))
    #expect(throws: StatisticsError.allDifferencesZero) { try wilcoxonSignedRank([1, 2], [1, 2]) }
    #expect(throws: StatisticsError.tooFewObservations(needed: 1, got: 0)) { try wilcoxonSignedRank([], []) }
}

@Test func holmAdjustsInSortedOrderKeepingMonotonicity() {
    // Sorted: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> 0.06 by max).
    let adjusted = holmAdjusted([0.03, 0.01, 0.04, 0.02])
    #expect(zip(adjusted, [0.06, 0.04, 0.06, 0.06]).allSatisfy { close($0, $1) })
    #expect(holmAdjusted([0.5, 0.9]) == [1, 1])
    #expect(holmAdjusted([]) == [])
}

@Test func bootstrapIntervalIsSeededAndNearTheNormalInterval() throws {
    let interval = try #require(bootstrapMeanInterval(a30, seed: 42))
    #expect(bootstrapMeanInterval(a30, seed: 42) == interval)
    #expect(bootstrapMeanInterval(a30, seed: 43) != interval)
    let m = mean(a30)!
    #expect(interval.contains(m))
    // The percentile bootstrap of a mean approaches mean +- 1.96 * sd * sqrt((n-1)/n) / sqrt(n).
    let n = Double(a30.count)
    let halfWidth = 1.959964 * standardDeviation(a30)! * ((n - 1) / n).squareRoot() / n.squareRoot()
    #expect(abs((interval.upper - interval.lower) / 2 - halfWidth) < 0.05 * halfWidth)
    #expect(abs((interval.upper + interval.lower) / 2 - m) < 0.1 * halfWidth)
    let single = try #require(bootstrapMeanInterval([0.7]))
    #expect(single.lower == 0.7 && single.upper == 0.7)
    #expect(bootstrapMeanInterval([]) == nil)
}

@Test func clusterAgreementMatchesScikitLearn() throws {
    let cases: [([Int], [Int], Double, Double)] = [
        ([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2], 1, 1),
        ([0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2, 2, 0], 0.047619047619047616, 0.3987478202411471),
        ([0, 1, 0, 1, 0, 1, 0, 1], [0, 0, 0, 0, 1, 1, 1, 1], -0.16666666666666666, 0),
        ([0, 0, 0, 0], [0, 1, 2, 3], 0, 0),
        ([0, 0, 1, 1, 1, 2, 2, 2, 2, 3], [5, 5, 5, 1, 1, 2, 2, 2, 7, 7], 0.4461538461538462, 0.7182659441747596),
    ]
    for (a, b, ari, nmi) in cases {
        #expect(close(try adjustedRandIndex(a, b), ari), "ARI \(a) \(b)")
        #expect(close(try normalizedMutualInformation(a, b), nmi), "NMI \(a) \(b)")
    }
    // Labels are names: strings against integers work, and a single cluster on both sides is perfect.
    #expect(try adjustedRandIndex(["x", "x", "y"], [7, 7, 3]) == 1)
    #expect(try normalizedMutualInformation(["x", "x"], [1, 1]) == 1)
    #expect(throws: StatisticsError.lengthMismatch(2, 1)) { try adjustedRandIndex([1, 2], [1]) }
}
