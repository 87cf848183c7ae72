import TestSupport
import Testing
import Tokenizers

/// The GPL-3 licence and random mixed-script strings against independent implementations:
/// Hugging Face `tokenizers` for SmolLM2 and Google's `sentencepiece` for Gemma 3
/// (Tests/TestSupport/Fixtures/tokenizers/generate_independent.py).
@Suite(.computeBound) struct IndependentReferenceTests {
    struct Row: CustomStringConvertible, Sendable {
        let model: String, text: String, ids: [Int32]
        var description: String { "\(model) \(text.prefix(30).debugDescription)" }
    }

    static let rows: [Row] = ((try? Fixtures.jsonLines("tokenizers/independent.jsonl")) ?? []).map {
        Row(model: $0["model"] as! String, text: $0["text"] as! String, ids: ($0["ids"] as! [Int]).map(Int32.init))
    }

    @Test(arguments: rows)
    func matches(_ row: Row) throws {
        let t = row.model == "gemma3-270m" ? try Models.gemma : try Models.smollm
        #expect(t.encode(row.text, addBOS: false, parseSpecial: false) == row.ids)
    }

    @Test func fixtureIncludesTheLicence() {
        #expect(Self.rows.count == 242)
        #expect(Self.rows.filter { $0.text.utf8.count > 30_000 }.map(\.ids.count).sorted() == [7562, 7639])
    }
}
