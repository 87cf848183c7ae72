import Datasets
import IFEval
import Scoring

/// Scores a cell's versions: version i answers cluster `labels[i]`, scored against that
/// cluster's constraints (IFEval), its pole of the conflict (rules) and, optionally, a judge.
/// A scorer that cannot score a cell reports an error for it, never a made-up score.
public struct CellScorer: Sendable {
    public var ifeval: Bool
    public var rules: Bool
    public var judge: LLMJudge?
    private let evaluator = IFEvalEvaluator()

    public init(ifeval: Bool = true, rules: Bool = true, judge: LLMJudge? = nil) {
        self.ifeval = ifeval
        self.rules = rules
        self.judge = judge
    }

    public func score(_ versions: [String], record: ConflictRecord, labels: [String]) async
        -> (scores: [String: Double], errors: [String: String]) {
        var scores: [String: Double] = [:], errors: [String: String] = [:]
        let gt = record.groundTruthClusters
        // A version answers the ground-truth cluster of its label (or of its position).
        let clusters = labels.enumerated().map { gt.contains($0.element) ? $0.element : gt[min($0.offset, gt.count - 1)] }
        if ifeval {
            do {
                var followed = 0, total = 0
                for (version, cluster) in zip(versions, clusters) {
                    let results = try evaluator.follows(record.constraints(forCluster: cluster), response: version, mode: .strict)
                    followed += results.filter { $0 }.count
                    total += results.count
                }
                if total > 0 { scores["ifeval"] = Double(followed) / Double(total) }
            } catch {
                errors["ifeval"] = "\(error)"
            }
        }
        let poles = Self.poles(labels: clusters, conflictType: record.conflictType)
        if rules {
            do {
                guard let poles else { throw ScoringError.unknownSubtype(record.conflictType) }
                var sum = 0.0
                for (version, pole) in zip(versions, poles) {
                    sum += try RuleChecker.score(version, subtype: record.conflictType, pole: pole).score
                }
                scores["rules"] = sum / Double(max(1, versions.count))
            } catch {
                errors["rules"] = "\(error)"
            }
        }
        if let judge {
            if let poles, let subtype = ConflictSubtype.named(record.conflictType) {
                var sum = 0.0
                var failure: String?
                for (version, pole) in zip(versions, poles) {
                    switch await judge.judge(response: version, subtype: record.conflictType, pole: subtype.pole(pole)) {
                    case .verdict(let verdict, _): sum += verdict.score
                    case .error(let message): failure = message
                    }
                    if failure != nil { break }
                }
                if let failure { errors["judge"] = failure } else { scores["judge"] = sum / Double(max(1, versions.count)) }
            } else {
                errors["judge"] = ScoringError.unknownSubtype(record.conflictType).description
            }
        }
        return (scores, errors)
    }

    /// Which pole of the conflict (0 or 1) each of two cluster labels stands for: the pairing
    /// whose labels share more words with the poles' names ("with_citations" ~ "citations",
    /// "casual_caption" ~ "casual"); when the words say nothing, label order is pole order.
    static func poles(labels: [String], conflictType: String) -> [Int]? {
        guard let subtype = ConflictSubtype.named(conflictType), labels.count == 2 else { return nil }
        func words(_ s: String) -> Set<String> {
            Set(s.lowercased().split(separator: "_").map { $0.hasSuffix("s") && $0.count > 3 ? String($0.dropLast()) : String($0) })
        }
        let p = [words(subtype.poles.0), words(subtype.poles.1)]
        let l = labels.map(words)
        let straight = l[0].intersection(p[0]).count + l[1].intersection(p[1]).count
        let swapped = l[0].intersection(p[1]).count + l[1].intersection(p[0]).count
        return swapped > straight ? [1, 0] : [0, 1]
    }
}
