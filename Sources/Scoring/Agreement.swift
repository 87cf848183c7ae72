import Foundation

/// A response labelled by a person with the pole of its subtype that it follows.
public struct GoldenExample: Codable, Sendable, Equatable {
    public var id: String
    public var subtype: String
    public var label: String
    public var response: String

    public init(id: String, subtype: String, label: String, response: String) {
        self.id = id
        self.subtype = subtype
        self.label = label
        self.response = response
    }

    public static func load(_ url: URL) throws -> [GoldenExample] {
        try JSONDecoder().decode([GoldenExample].self, from: Data(contentsOf: url))
    }
}

/// How often a scorer picks the labelled pole.
public struct AgreementReport: Sendable, Equatable, CustomStringConvertible {
    public var total: Int
    public var agreed: Int
    /// Examples the scorer could not decide (a tie at 0.5, or a judge error): counted as not agreed.
    public var undecided: [String]
    public var disagreed: [String]

    public var rate: Double { total == 0 ? 0 : Double(agreed) / Double(total) }

    public var description: String {
        String(format: "%d/%d agree (%.1f%%)", agreed, total, rate * 100)
            + (disagreed.isEmpty ? "" : "; disagree: \(disagreed.joined(separator: ", "))")
            + (undecided.isEmpty ? "" : "; undecided: \(undecided.joined(separator: ", "))")
    }

    /// `decide` returns the pole a scorer picks for an example, or nil when it cannot tell.
    public static func measure(_ examples: [GoldenExample], decide: (GoldenExample) async -> String?) async -> AgreementReport {
        var report = AgreementReport(total: examples.count, agreed: 0, undecided: [], disagreed: [])
        for example in examples {
            switch await decide(example) {
            case example.label: report.agreed += 1
            case nil: report.undecided.append(example.id)
            default: report.disagreed.append(example.id)
            }
        }
        return report
    }

    /// The pole a score on the first pole points to: nil at exactly 0.5.
    public static func pole(firstPoleScore score: Double, of subtype: ConflictSubtype) -> String? {
        score > 0.5 ? subtype.poles.0 : score < 0.5 ? subtype.poles.1 : nil
    }

    /// The rule checker's agreement with the labels.
    public static func ruleChecker(_ examples: [GoldenExample]) async -> AgreementReport {
        await measure(examples) { example in
            guard let subtype = ConflictSubtype.named(example.subtype),
                  let score = try? RuleChecker.score(example.response, subtype: example.subtype, pole: 0) else { return nil }
            return pole(firstPoleScore: score.score, of: subtype)
        }
    }
}
