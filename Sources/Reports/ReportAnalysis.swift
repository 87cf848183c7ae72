import Statistics

/// A compression setting a cell ran under; conditions are compared within one setting, since
/// cells pair only when policy and keep ratio match.
public struct ReportSetting: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var policy: String
    public var keepRatio: Double

    public init(policy: String, keepRatio: Double) {
        self.policy = policy
        self.keepRatio = keepRatio
    }

    /// `none` first, then policies by name, higher keep ratios first.
    public static func < (l: Self, r: Self) -> Bool {
        if l.policy != r.policy {
            if l.policy == "none" || r.policy == "none" { return l.policy == "none" }
            return l.policy < r.policy
        }
        return l.keepRatio > r.keepRatio
    }

    public var description: String { policy == "none" ? "none" : "\(policy)@\(formatRatio(keepRatio))" }
}

/// One (scorer, condition, setting) group: its mean with a bootstrap interval.
public struct GroupSummary: Sendable, Hashable {
    public var scorer: String
    public var condition: String
    public var setting: ReportSetting
    /// Cells with a score from this scorer (errored cells and scorer errors excluded).
    public var n: Int
    public var mean: Double?
    public var standardDeviation: Double?
    public var interval: ConfidenceInterval?
    public var scorerErrors: Int
    public var excludedCells: Int
    public var meanPromptTokens: Double?
    public var meanCacheBytes: Double?
}

/// Two conditions compared on the cells they share (same record, policy, keep ratio, seed).
public struct ConditionComparison: Sendable, Hashable {
    public var scorer: String
    public var setting: ReportSetting
    public var conditionA: String
    public var conditionB: String
    public var pairs: Int
    /// mean(A - B) over the pairs.
    public var meanDifference: Double?
    public var tTest: TestResult?
    public var wilcoxon: TestResult?
    public var cohensDz: Double?
    /// Holm-adjusted p-values; each test type is one family spanning every comparison.
    public var tHolm: Double?
    public var wilcoxonHolm: Double?
    /// Why a test is missing (too few pairs, all differences equal), when one is.
    public var note: String?
}

/// Cells excluded and scorer failures, per condition.
public struct ConditionErrors: Sendable, Hashable {
    public var condition: String
    public var cells: Int
    public var excludedCells: Int
    public var scorerErrors: [String: Int]
}

/// Everything a report shows, computed once from the cells. Every list is in a canonical order
/// that does not depend on the order the cells came in, so the same cells give the same bytes.
public struct ReportAnalysis: Sendable {
    public var cells: [ReportCell]
    public var conditions: [String]
    public var settings: [ReportSetting]
    public var scorers: [String]
    public var conflictTypes: [String]
    public var summaries: [GroupSummary]
    public var comparisons: [ConditionComparison]
    public var errors: [ConditionErrors]
    /// Distinct failure messages (cell errors and scorer errors) with how often each occurred.
    public var errorMessages: [(message: String, count: Int)]

    public init(cells input: [ReportCell], options: ReportOptions = ReportOptions()) throws(ReportError) {
        var seen = Set<String>()
        for cell in input where !seen.insert("\(cell.condition)|\(cell.pairKey)").inserted {
            throw .duplicateCell(condition: cell.condition, pairKey: cell.pairKey)
        }
        let conditions = orderedConditions(Set(input.map(\.condition)), preferred: options.conditionOrder)
        let rank = Dictionary(uniqueKeysWithValues: conditions.enumerated().map { ($1, $0) })
        self.conditions = conditions
        cells = input.sorted { l, r in
            if l.condition != r.condition { return rank[l.condition]! < rank[r.condition]! }
            let ls = ReportSetting(policy: l.policy, keepRatio: l.keepRatio), rs = ReportSetting(policy: r.policy, keepRatio: r.keepRatio)
            if ls != rs { return ls < rs }
            if l.seed != r.seed { return l.seed < r.seed }
            return l.recordID < r.recordID
        }
        settings = Set(cells.map { ReportSetting(policy: $0.policy, keepRatio: $0.keepRatio) }).sorted()
        scorers = Set(cells.flatMap { Array($0.scores.keys) + Array($0.scorerErrors.keys) }).sorted()
        conflictTypes = Set(cells.map(\.conflictType)).sorted()
        summaries = []
        comparisons = []
        errors = []
        errorMessages = []
        summarize(options: options)
        compare(options: options)
        countErrors()
    }

    public func summary(scorer: String, condition: String, setting: ReportSetting) -> GroupSummary? {
        summaries.first { $0.scorer == scorer && $0.condition == condition && $0.setting == setting }
    }

    /// Scores of one scorer for cells matching `filter`, excluding errored cells.
    public func scores(_ scorer: String, where filter: (ReportCell) -> Bool) -> [Double] {
        cells.filter { $0.error == nil && filter($0) }.compactMap { $0.scores[scorer] }
    }

    private mutating func summarize(options: ReportOptions) {
        for scorer in scorers {
            for condition in conditions {
                for setting in settings {
                    let group = cells.filter { $0.condition == condition && $0.policy == setting.policy && $0.keepRatio == setting.keepRatio }
                    if group.isEmpty { continue }
                    let valid = group.filter { $0.error == nil }
                    let values = valid.compactMap { $0.scores[scorer] }
                    summaries.append(GroupSummary(
                        scorer: scorer, condition: condition, setting: setting, n: values.count,
                        mean: mean(values), standardDeviation: standardDeviation(values),
                        interval: bootstrapMeanInterval(values, level: options.confidenceLevel,
                                                        resamples: options.bootstrapResamples, seed: options.bootstrapSeed),
                        scorerErrors: valid.filter { $0.scorerErrors[scorer] != nil }.count,
                        excludedCells: group.count - valid.count,
                        meanPromptTokens: mean(valid.map { Double($0.promptTokens) }),
                        meanCacheBytes: mean(valid.map { Double($0.cacheBytes) })))
                }
            }
        }
    }

    private mutating func compare(options: ReportOptions) {
        var pairsOfConditions: [(String, String)] = []
        for (i, a) in conditions.enumerated() {
            for b in conditions[(i + 1)...] where options.baseline == nil || a == options.baseline || b == options.baseline {
                pairsOfConditions.append(options.baseline == b ? (b, a) : (a, b))
            }
        }
        for scorer in scorers {
            for setting in settings {
                for (a, b) in pairsOfConditions {
                    let scoresA = scoresByPair(scorer, a, setting), scoresB = scoresByPair(scorer, b, setting)
                    // A condition not run under this setting (e.g. separate agents uncompressed only) has nothing to compare.
                    guard !scoresA.isEmpty && !scoresB.isEmpty else { continue }
                    let keys = Set(scoresA.keys).intersection(scoresB.keys).sorted()
                    comparisons.append(comparison(scorer, setting, a, b, keys.map { scoresA[$0]! }, keys.map { scoresB[$0]! }))
                }
            }
        }
        let tAdjusted = holmAdjusted(comparisons.compactMap { $0.tTest?.pValue })
        let wAdjusted = holmAdjusted(comparisons.compactMap { $0.wilcoxon?.pValue })
        var ti = 0, wi = 0
        for index in comparisons.indices {
            if comparisons[index].tTest != nil { comparisons[index].tHolm = tAdjusted[ti]; ti += 1 }
            if comparisons[index].wilcoxon != nil { comparisons[index].wilcoxonHolm = wAdjusted[wi]; wi += 1 }
        }
    }

    private func scoresByPair(_ scorer: String, _ condition: String, _ setting: ReportSetting) -> [String: Double] {
        var result: [String: Double] = [:]
        for cell in cells where cell.error == nil && cell.condition == condition
            && cell.policy == setting.policy && cell.keepRatio == setting.keepRatio {
            if let score = cell.scores[scorer] { result[cell.pairKey] = score }
        }
        return result
    }

    private func comparison(_ scorer: String, _ setting: ReportSetting, _ a: String, _ b: String,
                            _ x: [Double], _ y: [Double]) -> ConditionComparison {
        var notes: [String] = []
        func attempt<T>(_ name: String, _ body: () throws(StatisticsError) -> T) -> T? {
            do { return try body() } catch {
                if !notes.contains(where: { $0.hasSuffix(error.description) }) { notes.append("\(name): \(error.description)") }
                return nil
            }
        }
        return ConditionComparison(
            scorer: scorer, setting: setting, conditionA: a, conditionB: b, pairs: x.count,
            meanDifference: mean(zip(x, y).map { $0 - $1 }),
            tTest: attempt("t") { () throws(StatisticsError) in try pairedTTest(x, y) },
            wilcoxon: attempt("wilcoxon") { () throws(StatisticsError) in try wilcoxonSignedRank(x, y) },
            cohensDz: attempt("d_z") { () throws(StatisticsError) in try pairedCohensD(x, y) },
            note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    private mutating func countErrors() {
        var messages: [String: Int] = [:]
        for condition in conditions {
            let group = cells.filter { $0.condition == condition }
            var scorerErrors: [String: Int] = [:]
            for cell in group {
                if let error = cell.error { messages["cell: \(error)", default: 0] += 1; continue }
                for (scorer, message) in cell.scorerErrors {
                    scorerErrors[scorer, default: 0] += 1
                    messages["\(scorer): \(message)", default: 0] += 1
                }
            }
            errors.append(ConditionErrors(condition: condition, cells: group.count,
                                       excludedCells: group.filter { $0.error != nil }.count, scorerErrors: scorerErrors))
        }
        errorMessages = messages.map { (message: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.message < $1.message }
    }
}

/// Known conditions in the experiment's order, then any others by name.
func orderedConditions(_ present: Set<String>, preferred: [String]) -> [String] {
    preferred.filter(present.contains) + present.subtracting(preferred).sorted()
}
