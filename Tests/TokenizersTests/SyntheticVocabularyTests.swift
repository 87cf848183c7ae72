import GGUF
import Testing
import Tokenizers

/// Behaviour the two real models do not exercise, on small hand-made vocabularies.
@Suite struct SyntheticVocabularyTests {
    /// A Llama-2 style SentencePiece vocabulary: add_space_prefix defaults to true, BOS is added.
    static func sentencePiece() throws -> Tokenizer {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types = [2, 3, 3]
        var scores: [Float] = [0, 0, 0]
        for b in 0..<256 {
            tokens.append("<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">")
            types.append(6); scores.append(0)
        }
        for (text, score) in [("▁", -1), ("a", -2), ("b", -2), ("▁a", -1.5), ("ab", -0.5), ("▁ab", -0.2)] as [(String, Float)] {
            tokens.append(text); types.append(1); scores.append(score)
        }
        var m = GGUFMetadata()
        m["tokenizer.ggml.model"] = .string("llama")
        m["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        m["tokenizer.ggml.token_type"] = .array(.int32, types.map { .int32(Int32($0)) })
        m["tokenizer.ggml.scores"] = .array(.float32, scores.map { .float32($0) })
        return try Tokenizer(metadata: m)
    }

    @Test func sentencePieceSpacePrefixAndByteFallback() throws {
        let t = try Self.sentencePiece()
        let abSpace = try #require(t.token(forText: "▁ab")), aSpace = try #require(t.token(forText: "▁a"))
        #expect(t.addsBOS && t.bos == 1 && t.eos == 2)
        // "ab a" -> "▁ab▁a": the space prefix is added before the first text.
        #expect(t.encode("ab a") == [1, abSpace, aSpace])
        // "é" is not in the vocabulary: two byte tokens <0xC3> <0xA9>.
        let space = try #require(t.token(forText: "▁"))
        let c3: Int32 = 3 + 0xC3, a9: Int32 = 3 + 0xA9
        #expect(t.encode("é", addBOS: false) == [space, c3, a9])
        // Decoding drops the prefix space again (llama_detokenize's remove_space).
        #expect(try t.decode(t.encode("ab a", addBOS: false)) == "ab a")
        // llama.cpp keeps the prefix space when it removes a leading BOS (remove_space = false).
        #expect(try t.decode(t.encode("ab a"), removeSpecial: true) == " ab a")
        #expect(try t.decode(t.encode("ab a")) == "<s> ab a")
        #expect(try t.decode([c3, a9]) == "é")
    }

    /// Byte-level BPE with llama.cpp's `default` pre-tokenizer and its space clean-up on decode.
    @Test func bytePairDefaultPreTokenizerAndCleanSpaces() throws {
        // Byte-level alphabet for the characters used, then merges.
        let chars = ["H", "i", "Ġ", "!", "1", "2", "3", "4", "a", "b"]
        var m = GGUFMetadata()
        m["tokenizer.ggml.model"] = .string("gpt2")
        m["tokenizer.ggml.pre"] = .string("default")
        m["tokenizer.ggml.tokens"] = .array(.string, (chars + ["Hi", "ĠHi", "12", "123", "ab"]).map { .string($0) })
        m["tokenizer.ggml.merges"] = .array(.string, ["H i", "Ġ Hi", "1 2", "12 3", "a b"].map { .string($0) })
        let t = try Tokenizer(metadata: m)
        let hi = try #require(t.token(forText: "Hi")), spaceHi = try #require(t.token(forText: "ĠHi"))
        let oneTwoThree = try #require(t.token(forText: "123"))
        #expect(!t.addsBOS)
        // "1234": digits split into "123" "4" by the [0-9]{3} rule; "!" split off as punctuation.
        #expect(t.encode("Hi Hi!1234") == [hi, spaceHi, 3, oneTwoThree, 7])
        // clean_spaces: " !" loses its space on decode, as llama_detokenize does.
        let ids = t.encode("Hi !")
        #expect(try t.decode(ids) == "Hi!")
        #expect(t.preTokenizerName == "default")
    }

    /// Llama 3 style: a word that is already a token skips merging (ignore_merges), BOS is forced.
    @Test func llama3IgnoresMergesForWholeWords() throws {
        var m = GGUFMetadata()
        m["tokenizer.ggml.model"] = .string("gpt2")
        m["tokenizer.ggml.pre"] = .string("llama-bpe")
        m["tokenizer.ggml.tokens"] = .array(.string, ["a", "b", "c", "ab", "abc", "<|begin_of_text|>", "<|eot_id|>"].map { .string($0) })
        m["tokenizer.ggml.token_type"] = .array(.int32, [1, 1, 1, 1, 1, 3, 3].map { .int32($0) })
        // No merge produces "abc" from "ab"+"c": only ignore_merges can emit it.
        m["tokenizer.ggml.merges"] = .array(.string, ["a b"].map { .string($0) })
        m["tokenizer.ggml.bos_token_id"] = .uint32(5)
        let t = try Tokenizer(metadata: m)
        #expect(t.addsBOS)
        #expect(t.encode("abc") == [5, 4])
        // Not a token as a whole: merged as usual.
        #expect(t.encode("abcab", addBOS: false) == [3, 2, 3])
        #expect(t.encode("<|eot_id|>abc", addBOS: false) == [6, 4])
        #expect(t.isEndOfGeneration(6) && t.eot == 6)
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
