import TestSupport
import Testing
@testable import Tokenizers

/// The hand-written word splitters against the upstream regular expressions (run by Python's
/// `regex` module: Tests/TestSupport/Fixtures/tokenizers/generate_pretokenizer.py).
@Suite struct PreTokenizerTests {
    struct Row: CustomStringConvertible, Sendable {
        let rule: String, text: String, words: [String]
        var description: String { "\(rule): \(text.prefix(40).debugDescription)" }
    }

    static let rows: [Row] = ((try? Fixtures.jsonLines("tokenizers/pretokenizer.jsonl")) ?? []).map {
        Row(rule: $0["rule"] as! String, text: $0["text"] as! String, words: $0["words"] as! [String])
    }

    static func words(_ text: String, rule: String) throws -> [String] {
        let pre = try #require(PreTokenizer(name: rule))
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { p in
            pre.split(p).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    @Test(arguments: rows)
    func matchesRegex(_ row: Row) throws {
        #expect(try Self.words(row.text, rule: row.rule) == row.words)
    }

    @Test func fixtureCoversEveryRule() {
        #expect(Set(Self.rows.map(\.rule)) == ["gpt-2", "llama-bpe", "qwen2", "smollm", "default"])
    }

    @Test func llama3Examples() throws {
        #expect(try Self.words("Hello world's 12345 !!\n\n  end", rule: "llama-bpe")
                == ["Hello", " world", "'s", " ", "123", "45", " !!\n\n", " ", " end"])
        #expect(try Self.words("I'M 1234567", rule: "llama-bpe") == ["I", "'M", " ", "123", "456", "7"])
        #expect(try Self.words("x  \n y", rule: "llama-bpe") == ["x", "  \n", " y"])
    }

    @Test func unknownNamesAreRejected() {
        #expect(PreTokenizer(name: "qwen35") == nil)
        #expect(PreTokenizer(name: "llama-bpe") != nil)
    }
}
