import Foundation

public enum ScoringError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownSubtype(String)
    case unknownPole(subtype: String, pole: String)

    public var description: String {
        switch self {
        case .unknownSubtype(let name):
            "unknown conflict subtype '\(name)'; one of \(ConflictSubtype.all.map(\.name).joined(separator: ", "))"
        case .unknownPole(let subtype, let pole):
            "'\(pole)' is not a pole of \(subtype)"
        }
    }
}

/// How well a response follows one pole of a conflict, by rules.
public struct RuleScore: Sendable, Equatable {
    public var subtype: String
    public var pole: String
    /// 0 (the opposite pole) ... 1 (this pole); 0.5 means the rules saw no evidence either way.
    public var score: Double
    /// The measurements the score came from, for a reader to check it.
    public var evidence: String
}

/// Rule-based scores for the twenty conflict subtypes, without a model.
///
/// Each subtype reduces a response to a lean towards its first pole, `p` in 0...1, and a pole's
/// score is `p` for the first pole and `1 - p` for the second:
/// - tone and style registers: lexicon hits per 100 words for each side (plus contractions,
///   exclamation marks and emoji on the casual/friendly/humorous side), compared as
///   `p = 0.5 + 0.5 * tanh((first - second) / scale)`;
/// - detail: word count against a per-subtype band, `p = 1` at or below its low end, `0` at or
///   above its high end (brief/detailed 60-200, concise/comprehensive 80-250,
///   summary/exhaustive 100-350, minimal/verbose 40-150 words), linear between;
/// - jargon: technical terms per 100 words plus 20 x the share of words of 9+ letters;
/// - citations and examples: none gives 0, one 0.75, two or more 1;
/// - opinions: opinion markers per 100 words over 3; background: background markers and length;
/// - format: list lines (bullets or numbered) over 3, headings over 2, both for structure.
public enum RuleChecker {
    public static func score(_ response: String, subtype: String, pole: Int) throws(ScoringError) -> RuleScore {
        guard let conflict = ConflictSubtype.named(subtype) else { throw .unknownSubtype(subtype) }
        guard pole == 0 || pole == 1 else { throw .unknownPole(subtype: subtype, pole: String(pole)) }
        let features = TextFeatures(response)
        let (lean, evidence) = firstPoleLean(conflict, features)
        return RuleScore(subtype: conflict.name, pole: conflict.pole(pole), score: pole == 0 ? lean : 1 - lean,
                         evidence: evidence)
    }

    public static func score(_ response: String, subtype: String, pole: String) throws(ScoringError) -> RuleScore {
        guard let conflict = ConflictSubtype.named(subtype) else { throw .unknownSubtype(subtype) }
        guard let index = conflict.index(of: pole) else { throw .unknownPole(subtype: subtype, pole: pole) }
        return try score(response, subtype: subtype, pole: index)
    }

    static func firstPoleLean(_ conflict: ConflictSubtype, _ f: TextFeatures) -> (Double, String) {
        let per100 = { (count: Int) in f.words == 0 ? 0 : Double(count) * 100 / Double(f.words) }
        let informal = f.density("casual") + per100(f.contractions) + per100(f.exclamations + f.emoji)
        switch conflict.name {
        case "formal_vs_casual", "formal_vs_informal":
            return compare(f.density("formal"), informal, scale: 2, "formal", "informal")
        case "professional_vs_friendly":
            return compare(f.density("professional"), f.density("friendly") + per100(f.exclamations + f.emoji), scale: 2,
                           "professional", "friendly")
        case "serious_vs_humorous":
            return compare(f.density("serious"), 2 * f.density("humorous") + per100(f.exclamations + f.emoji), scale: 2,
                           "serious", "humorous")
        case "empathetic_vs_objective":
            return compare(f.density("empathetic"), f.density("objective"), scale: 2, "empathetic", "objective")
        case "brief_vs_detailed": return length(f, 60, 200)
        case "concise_vs_comprehensive": return length(f, 80, 250)
        case "summary_vs_exhaustive": return length(f, 100, 350)
        case "minimal_vs_verbose": return length(f, 40, 150)
        case "technical_vs_layperson":
            return compare(f.density("technical") + 10 * f.longWordRatio, f.density("layperson") + 1, scale: 2,
                           "technical", "layperson")
        case "academic_vs_conversational":
            return compare(f.density("academic") + per100(f.citations),
                           f.density("conversational") / 2 + per100(f.contractions + f.questions), scale: 2,
                           "academic", "conversational")
        case "jargon_heavy_vs_simple":
            let jargon = f.density("technical") + 20 * f.longWordRatio
            return (clamp((jargon - 2.5) / 5), String(format: "jargon %.2f (technical terms per 100 words + 20 x long-word share)", jargon))
        case "citations_vs_no_citations":
            return (steps(f.citations), "\(f.citations) citation markers")
        case "examples_vs_no_examples":
            return (steps(f.examples), "\(f.examples) example markers")
        case "opinions_vs_facts_only":
            return (clamp(f.density("opinion") / 3), String(format: "opinion markers %.2f per 100 words", f.density("opinion")))
        case "background_vs_direct_answer":
            let lean = 0.5 * clamp(f.density("background") / 2) + 0.5 * clamp(Double(f.words - 40) / 120)
            return (lean, String(format: "background markers %.2f per 100 words, %d words", f.density("background"), f.words))
        case "structured_vs_freeform":
            return (clamp(Double(f.listLines + 2 * f.headings) / 4), "\(f.listLines) list lines, \(f.headings) headings")
        case "bullets_vs_paragraphs", "lists_vs_prose":
            return (clamp(Double(f.listLines) / 3), "\(f.listLines) list lines, \(f.paragraphs) paragraphs")
        case "sections_vs_continuous":
            return (clamp(Double(f.headings) / 2), "\(f.headings) headings")
        default:
            return (0.5, "no rule")
        }
    }

    private static func compare(_ first: Double, _ second: Double, scale: Double, _ a: String, _ b: String) -> (Double, String) {
        (0.5 + 0.5 * tanh((first - second) / scale), String(format: "%@ %.2f vs %@ %.2f per 100 words", a, first, b, second))
    }

    private static func length(_ f: TextFeatures, _ low: Double, _ high: Double) -> (Double, String) {
        (clamp((high - Double(f.words)) / (high - low)), "\(f.words) words (band \(Int(low))-\(Int(high)))")
    }

    private static func steps(_ count: Int) -> Double { count >= 2 ? 1 : count == 1 ? 0.75 : 0 }

    static func clamp(_ x: Double) -> Double { min(1, max(0, x)) }
}
