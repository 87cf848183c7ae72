import Foundation

/// The rule checker and the judge on one labelled set: each against the labels, and against
/// each other where both decided.
public struct RuleJudgeComparison: Sendable, Equatable, CustomStringConvertible {
    public var rule: AgreementReport
    public var judge: AgreementReport
    /// Examples where both picked a pole, and how many of those picks match.
    public var bothDecided: Int
    public var ruleAgreesWithJudge: Int
    public var judgeErrors: [String]

    public var description: String {
        let pairwise = bothDecided == 0 ? "n/a" : String(format: "%d/%d (%.1f%%)", ruleAgreesWithJudge, bothDecided,
                                                          Double(ruleAgreesWithJudge) * 100 / Double(bothDecided))
        return """
            rule checker vs labels: \(rule)
            judge vs labels:        \(judge)
            rule vs judge:          \(pairwise)
            judge errors:           \(judgeErrors.count)\(judgeErrors.first.map { " (first: \($0))" } ?? "")
            """
    }

    /// Asks the judge about the first pole of every example (cached answers are reused).
    public static func run(judge: LLMJudge, examples: [GoldenExample]) async -> RuleJudgeComparison {
        var judgePoles: [String: String] = [:]
        var errors: [String] = []
        for example in examples {
            guard let subtype = ConflictSubtype.named(example.subtype) else { continue }
            switch await judge.judge(response: example.response, subtype: example.subtype, pole: subtype.poles.0) {
            case .verdict(let verdict, _):
                if let pole = AgreementReport.pole(firstPoleScore: verdict.score, of: subtype) { judgePoles[example.id] = pole }
            case .error(let message):
                errors.append("\(example.id): \(message)")
            }
        }
        let rulePoles = Dictionary(uniqueKeysWithValues: examples.compactMap { example -> (String, String)? in
            guard let subtype = ConflictSubtype.named(example.subtype),
                  let score = try? RuleChecker.score(example.response, subtype: example.subtype, pole: 0),
                  let pole = AgreementReport.pole(firstPoleScore: score.score, of: subtype) else { return nil }
            return (example.id, pole)
        })
        let both = examples.filter { rulePoles[$0.id] != nil && judgePoles[$0.id] != nil }
        return RuleJudgeComparison(
            rule: AgreementReport.from(examples, decisions: rulePoles),
            judge: AgreementReport.from(examples, decisions: judgePoles),
            bothDecided: both.count,
            ruleAgreesWithJudge: both.filter { rulePoles[$0.id] == judgePoles[$0.id] }.count,
            judgeErrors: errors)
    }
}

extension AgreementReport {
    static func from(_ examples: [GoldenExample], decisions: [String: String]) -> AgreementReport {
        var report = AgreementReport(total: examples.count, agreed: 0, undecided: [], disagreed: [])
        for example in examples {
            switch decisions[example.id] {
            case example.label: report.agreed += 1
            case nil: report.undecided.append(example.id)
            default: report.disagreed.append(example.id)
            }
        }
        return report
    }
}
