import Foundation
import Testing
@testable import Scoring

@Suite("Scoring: rule checker")
struct RuleCheckerTests {
    static func golden() throws -> [GoldenExample] {
        let url = try #require(Bundle.module.url(forResource: "golden_set", withExtension: "json", subdirectory: "Fixtures"))
        return try GoldenExample.load(url)
    }

    @Test("the golden set covers every subtype and both poles")
    func coverage() throws {
        let examples = try Self.golden()
        #expect(examples.count >= 40)
        for subtype in ConflictSubtype.all {
            let labels = Set(examples.filter { $0.subtype == subtype.name }.map(\.label))
            #expect(labels == [subtype.poles.0, subtype.poles.1], "\(subtype.name)")
        }
    }

    /// The measured figure: the rule checker against our labels (printed; the README quotes it).
    @Test("agreement with the human labels of the golden set")
    func agreement() async throws {
        let report = await AgreementReport.ruleChecker(try Self.golden())
        print("rule checker vs golden labels: \(report)")
        #expect(report.rate >= 0.9)
    }

    @Test("scores: a pole and its opposite sum to 1, stay in 0...1, and can be named or indexed")
    func poles() throws {
        let text = "Hey! Gonna be quick: it's cool, no worries."
        let casual = try RuleChecker.score(text, subtype: "formal_vs_casual", pole: "casual")
        let formal = try RuleChecker.score(text, subtype: "tone_formal_vs_casual", pole: 0)
        #expect(casual.pole == "casual" && formal.pole == "formal")
        #expect(abs(casual.score + formal.score - 1) < 1e-12)
        #expect(casual.score > 0.9)
        for subtype in ConflictSubtype.all {
            for pole in 0...1 {
                let score = try RuleChecker.score(text, subtype: subtype.name, pole: pole).score
                #expect((0...1).contains(score))
            }
        }
    }

    @Test("thresholds: word-count bands, list lines, headings, citations")
    func thresholds() throws {
        let words = { (n: Int) in Array(repeating: "word", count: n).joined(separator: " ") }
        #expect(try RuleChecker.score(words(60), subtype: "brief_vs_detailed", pole: "brief").score == 1)
        #expect(try RuleChecker.score(words(130), subtype: "brief_vs_detailed", pole: "brief").score == 0.5)
        #expect(try RuleChecker.score(words(200), subtype: "brief_vs_detailed", pole: "detailed").score == 1)
        #expect(try RuleChecker.score("- a\n- b\n- c", subtype: "bullets_vs_paragraphs", pole: "bullets").score == 1)
        #expect(try RuleChecker.score("- a\n- b", subtype: "lists_vs_prose", pole: "lists").score == 2.0 / 3.0)
        #expect(try RuleChecker.score("## A\ntext\n## B\ntext", subtype: "sections_vs_continuous", pole: "sections").score == 1)
        #expect(try RuleChecker.score("As shown in [1].", subtype: "citations_vs_no_citations", pole: "citations").score == 0.75)
        #expect(try RuleChecker.score("No sources here.", subtype: "citations_vs_no_citations", pole: "no_citations").score == 1)
    }

    @Test("unknown subtypes and poles are errors")
    func errors() {
        #expect(throws: ScoringError.unknownSubtype("loud_vs_quiet")) { try RuleChecker.score("x", subtype: "loud_vs_quiet", pole: 0) }
        #expect(throws: ScoringError.unknownPole(subtype: "formal_vs_casual", pole: "friendly")) {
            try RuleChecker.score("x", subtype: "formal_vs_casual", pole: "friendly")
        }
        #expect(throws: ScoringError.self) { try RuleChecker.score("x", subtype: "formal_vs_casual", pole: 2) }
    }
}
