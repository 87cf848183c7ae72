import Foundation

/// Adjusted Rand index between two labelings of the same items (labels are names only; their
/// values need not match across labelings). 1 for identical partitions, about 0 for chance,
/// negative below chance. Computed from the pair confusion matrix as scikit-learn's
/// `adjusted_rand_score`, including its convention that two partitions that agree on every
/// pair score 1.
public func adjustedRandIndex<A: Hashable, B: Hashable>(_ a: [A], _ b: [B]) throws(StatisticsError) -> Double {
    let table = try Contingency(a, b)
    let n = Double(a.count)
    let sumSquares = table.cells.values.reduce(0.0) { $0 + Double($1 * $1) }
    let rowSquares = table.rows.reduce(0.0) { $0 + Double($1 * $1) }
    let columnSquares = table.columns.reduce(0.0) { $0 + Double($1 * $1) }
    // Ordered pairs, as sklearn's pair_confusion_matrix.
    let together = sumSquares - n
    let sameInAOnly = rowSquares - sumSquares
    let sameInBOnly = columnSquares - sumSquares
    let apart = n * n - sameInAOnly - sameInBOnly - sumSquares
    if sameInBOnly == 0 && sameInAOnly == 0 { return 1 }
    let numerator = 2 * (together * apart - sameInAOnly * sameInBOnly)
    let denominator = (together + sameInAOnly) * (sameInAOnly + apart) + (together + sameInBOnly) * (sameInBOnly + apart)
    return numerator / denominator
}

/// Normalized mutual information with the arithmetic mean of the two entropies as normalizer
/// (scikit-learn's default `average_method="arithmetic"`). 1 when both labelings have a single
/// cluster (as sklearn), 0 when they share no information.
public func normalizedMutualInformation<A: Hashable, B: Hashable>(_ a: [A], _ b: [B]) throws(StatisticsError) -> Double {
    let table = try Contingency(a, b)
    if table.rows.count == table.columns.count && table.rows.count <= 1 { return 1 }
    let n = Double(a.count)
    var information = 0.0
    for (key, count) in table.cells {
        let joint = Double(count)
        information += joint / n * log(joint * n / (Double(table.rows[key.row]) * Double(table.columns[key.column])))
    }
    func entropy(_ counts: [Int]) -> Double {
        counts.reduce(0.0) { let p = Double($1) / n; return $0 - p * log(p) }
    }
    information = max(information, 0)
    if information == 0 { return 0 }
    return information / ((entropy(table.rows) + entropy(table.columns)) / 2)
}

/// Counts of items per (label in a, label in b), labels replaced by first-seen indices.
private struct Contingency {
    struct Key: Hashable { var row: Int; var column: Int }
    var cells: [Key: Int] = [:]
    var rows: [Int] = []
    var columns: [Int] = []

    init<A: Hashable, B: Hashable>(_ a: [A], _ b: [B]) throws(StatisticsError) {
        guard a.count == b.count else { throw .lengthMismatch(a.count, b.count) }
        guard !a.isEmpty else { throw .tooFewObservations(needed: 1, got: 0) }
        var rowIndex: [A: Int] = [:], columnIndex: [B: Int] = [:]
        for (x, y) in zip(a, b) {
            let row = rowIndex[x] ?? { rowIndex[x] = rows.count; rows.append(0); return rows.count - 1 }()
            let column = columnIndex[y] ?? { columnIndex[y] = columns.count; columns.append(0); return columns.count - 1 }()
            rows[row] += 1
            columns[column] += 1
            cells[Key(row: row, column: column), default: 0] += 1
        }
    }
}
