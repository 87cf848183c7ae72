/// Holm-Bonferroni adjusted p-values, in the order given: sort ascending, multiply the i-th
/// smallest (0-based) by m - i, carry the running maximum so the order is kept, cap at 1
/// (as statsmodels' `multipletests(method="holm")`). Controls the family-wise error rate across
/// every comparison a report makes.
public func holmAdjusted(_ pValues: [Double]) -> [Double] {
    let m = pValues.count
    let order = pValues.indices.sorted { pValues[$0] < pValues[$1] || (pValues[$0] == pValues[$1] && $0 < $1) }
    var adjusted = [Double](repeating: 0, count: m)
    var runningMax = 0.0
    for (rank, index) in order.enumerated() {
        runningMax = max(runningMax, min(1, Double(m - rank) * pValues[index]))
        adjusted[index] = runningMax
    }
    return adjusted
}
