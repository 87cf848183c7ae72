import Foundation

/// A judge's answer: how well a response follows one pole, how sure the judge is, and why.
public struct JudgeVerdict: Codable, Sendable, Equatable {
    /// 0...1, clamped.
    public var score: Double
    /// 0...1, clamped.
    public var confidence: Double
    public var reasoning: String

    public init(score: Double, confidence: Double, reasoning: String) {
        self.score = min(1, max(0, score))
        self.confidence = min(1, max(0, confidence))
        self.reasoning = reasoning
    }

    /// Reads `SCORE: …`, `CONFIDENCE: …`, `REASONING: …` from a model's text, tolerating
    /// markdown emphasis, any case, `=` for `:`, fractions like `8/10` and percentages (a score
    /// above 1 is read on a 0-10 scale, above 10 as a percentage). Nil without a SCORE line.
    public static func parse(_ text: String) -> JudgeVerdict? {
        let cleaned = text.replacingOccurrences(of: "*", with: "").replacingOccurrences(of: "#", with: "")
        guard let score = number(after: "score", in: cleaned) else { return nil }
        let confidence = number(after: "confidence", in: cleaned) ?? 0.5
        return JudgeVerdict(score: normalize(score), confidence: normalize(confidence),
                            reasoning: reasoning(in: cleaned))
    }

    private static func number(after label: String, in text: String) -> Double? {
        let pattern = #"(?im)^\s*"# + label + #"\s*[:=]\s*(-?\d+(?:\.\d+)?)\s*(%|/\s*(\d+(?:\.\d+)?))?"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let valueRange = Range(match.range(at: 1), in: text),
              let value = Double(text[valueRange]) else { return nil }
        if let percent = Range(match.range(at: 2), in: text), text[percent] == "%" { return value / 100 }
        if let denominatorRange = Range(match.range(at: 3), in: text), let denominator = Double(text[denominatorRange]), denominator > 0 {
            return value / denominator
        }
        return value
    }

    private static func normalize(_ value: Double) -> Double {
        if value > 10 { return value / 100 }
        if value > 1 { return value / 10 }
        return value
    }

    private static func reasoning(in text: String) -> String {
        guard let regex = try? NSRegularExpression(pattern: #"(?is)^\s*reasoning\s*[:=]\s*(.*)$"#, options: .anchorsMatchLines),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: 1), in: text) else { return "" }
        return text[range].trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
