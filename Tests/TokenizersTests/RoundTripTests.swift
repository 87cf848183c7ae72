import Foundation
import TestSupport
import Testing
import Tokenizers

/// detokenize(tokenize(x)) == x, and streaming decode (one token at a time) == whole decode.
@Suite struct RoundTripTests {
    static let texts: [String] = {
        var seen = Set<String>()
        let fixtures = (TokenizeCase.load("gemma3-270m") + TokenizeCase.load("smollm2-135m")).map(\.text)
        return fixtures.filter { seen.insert($0).inserted } + ["🍕🚀👨‍👩‍👧‍👦 日本語のテキスト 한국어 Ελληνικά ∑∫√ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{1F600}\u{0301}", "x\u{10FFFF}y \u{E000}", ""]
    }()

    static var gpl: String {
        get throws { try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8) }
    }

    @Test(arguments: texts)
    func gemmaRoundTrips(_ text: String) throws {
        try Self.check(try Models.gemma, text)
    }

    @Test(arguments: texts)
    func smolLMRoundTrips(_ text: String) throws {
        try Self.check(try Models.smollm, text)
    }

    static func check(_ t: Tokenizer, _ text: String) throws {
        let ids = t.encode(text, addBOS: false)
        #expect(try t.decode(ids) == text)
        var stream = StreamingDecoder(tokenizer: t)
        var streamed = ""
        for id in ids { streamed += try stream.append(id) }
        #expect(stream.pendingByteCount == 0)
        streamed += stream.finish()
        #expect(streamed == text)
        // With BOS: the marker renders only when special tokens are rendered, and removeSpecial drops it.
        let withBOS = t.encode(text)
        #expect(try t.decode(withBOS, removeSpecial: true) == text)
        if !ids.contains(where: { t.attributes(of: $0).contains(.control) }) {
            #expect(try t.decode(withBOS, renderSpecial: false) == text)
        }
    }

    /// Emoji and CJK split into byte tokens: some pieces are not whole characters, yet every
    /// streamed chunk is valid text and the chunks add up to the input.
    @Test func streamingHoldsPartialCharacters() throws {
        let text = "🍕 日本 👨‍👩‍👧‍👦 ꙮ 𝔘"
        for t in [try Models.gemma, try Models.smollm] {
            let ids = t.encode(text, addBOS: false)
            let partial = ids.filter { String(validatingUTF8: t.piece($0).map { CChar(bitPattern: $0) } + [0]) == nil }
            #expect(!partial.isEmpty, "expected some tokens that hold part of a character")
            var stream = StreamingDecoder(tokenizer: t)
            var chunks: [String] = []
            for id in ids { chunks.append(try stream.append(id)) }
            #expect(!chunks.contains { $0.contains("\u{FFFD}") })
            #expect(chunks.joined() + stream.finish() == text)
        }
    }

    /// An unfinished character at the end of the stream comes out as U+FFFD, as a whole decode does.
    @Test func finishFlushesIncompleteCharacter() throws {
        let t = try Models.gemma
        let f0 = try #require(t.token(forText: "<0xF0>")), x9f = try #require(t.token(forText: "<0x9F>"))
        var stream = StreamingDecoder(tokenizer: t)
        #expect(try stream.append(f0) == "")
        #expect(try stream.append(x9f) == "")
        #expect(stream.pendingByteCount == 2)
        let tail = stream.finish()
        #expect(tail == (try t.decode([f0, x9f])))
        #expect(tail.unicodeScalars.allSatisfy { $0 == "\u{FFFD}" })
    }

    @Test func gplRoundTripsAndIsQuick() throws {
        let text = try Self.gpl
        #expect(text.utf8.count > 30_000)
        for t in [try Models.gemma, try Models.smollm] {
            let start = ContinuousClock.now
            let ids = t.encode(text)
            let elapsed = ContinuousClock.now - start
            print("GPL-3 (\(text.utf8.count) bytes) -> \(ids.count) tokens in \(elapsed) [\(t.kind)]")
            #expect(try t.decode(ids, removeSpecial: true) == text)
            var stream = StreamingDecoder(tokenizer: t, renderSpecial: false)
            var streamed = ""
            for id in ids { streamed += try stream.append(id) }
            #expect(streamed + stream.finish() == text)
        }
    }
}
