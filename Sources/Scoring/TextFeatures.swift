import Foundation
import IFEval

/// Measurements of a response that the rule checker's scores are built from.
public struct TextFeatures: Sendable, Equatable {
    public var words: Int
    public var sentences: Int
    public var paragraphs: Int
    public var bulletLines: Int
    public var numberedLines: Int
    public var headings: Int
    public var citations: Int
    public var examples: Int
    public var contractions: Int
    public var exclamations: Int
    public var questions: Int
    public var emoji: Int
    public var longWords: Int
    /// Lexicon hits per lexicon name.
    public var hits: [String: Int]

    public var meanSentenceLength: Double { sentences == 0 ? Double(words) : Double(words) / Double(sentences) }
    public var longWordRatio: Double { words == 0 ? 0 : Double(longWords) / Double(words) }
    public var listLines: Int { bulletLines + numberedLines }

    public func hits(_ lexicon: String) -> Int { hits[lexicon] ?? 0 }

    /// Hits per 100 words, so long and short answers compare.
    public func density(_ lexicon: String) -> Double { words == 0 ? 0 : Double(hits(lexicon)) * 100 / Double(words) }

    private static let wordPattern = try! NSRegularExpression(pattern: #"[\p{L}\p{N}][\p{L}\p{N}'’\-]*"#)
    private static let bullet = try! NSRegularExpression(pattern: #"^\s*[-*•+]\s+\S"#, options: .anchorsMatchLines)
    private static let numbered = try! NSRegularExpression(pattern: #"^\s*\d+[.)]\s+\S"#, options: .anchorsMatchLines)
    private static let heading = try! NSRegularExpression(
        pattern: #"^(\s*#{1,6}\s+\S.*|\s*\*\*[^*\n]{2,60}\*\*:?\s*|\s*[A-Z][A-Za-z ]{1,40}:\s*|\s*(Section|SECTION|Part|PART)\s+\w+.*)$"#,
        options: .anchorsMatchLines)
    private static let citation = try! NSRegularExpression(
        pattern: #"\[\d+(,\s*\d+)*\]|\([A-Z][A-Za-z\-]+( et al\.)?(,| and [A-Z][A-Za-z\-]+,)? \d{4}[a-z]?\)|\bet al\.|https?://\S+|\bdoi:\s*\S+|\b(according to|as reported by|as stated in|source:|sources:|cited in|\(\d{4}\))"#,
        options: .caseInsensitive)
    private static let example = try! NSRegularExpression(
        pattern: #"\b(for example|for instance|e\.g\.|such as|as an example|to illustrate|consider the case|imagine|example:|examples:|say you|let's say)"#,
        options: .caseInsensitive)
    private static let contraction = try! NSRegularExpression(
        pattern: #"\b\w+['’](s|re|ve|ll|d|m|t)\b"#, options: .caseInsensitive)

    public init(_ text: String) {
        let range = NSRange(text.startIndex..., in: text)
        let ns = text as NSString
        let tokens = Self.wordPattern.matches(in: text, range: range).map { ns.substring(with: $0.range) }
        words = tokens.count
        longWords = tokens.filter { $0.count >= 9 }.count
        sentences = PunktSentenceTokenizer().count(text)
        paragraphs = text.components(separatedBy: "\n\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }.count
        bulletLines = Self.bullet.numberOfMatches(in: text, range: range)
        numberedLines = Self.numbered.numberOfMatches(in: text, range: range)
        headings = Self.heading.numberOfMatches(in: text, range: range)
        citations = Self.citation.numberOfMatches(in: text, range: range)
        examples = Self.example.numberOfMatches(in: text, range: range)
        contractions = Self.contraction.numberOfMatches(in: text, range: range)
        exclamations = text.filter { $0 == "!" }.count
        questions = text.filter { $0 == "?" }.count
        emoji = text.unicodeScalars.filter { $0.properties.isEmojiPresentation }.count
        let lowered = " " + tokens.map { $0.lowercased() }.joined(separator: " ") + " "
        var hits: [String: Int] = [:]
        for (name, phrases) in Lexicons.all {
            hits[name] = phrases.reduce(0) { $0 + lowered.occurrences(of: " \($1) ") }
        }
        self.hits = hits
    }
}

extension String {
    func occurrences(of needle: String) -> Int {
        var count = 0
        var searchRange = startIndex..<endIndex
        while let found = range(of: needle, range: searchRange) {
            count += 1
            // Phrases are matched with surrounding spaces; step back one so adjacent hits count.
            searchRange = index(before: found.upperBound)..<endIndex
        }
        return count
    }
}
