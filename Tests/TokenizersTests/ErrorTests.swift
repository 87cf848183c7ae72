import Foundation
import GGUF
import Testing
import Tokenizers

/// Bad input fails with typed errors that say what is wrong.
@Suite struct ErrorTests {
    static func metadata(model: String = "gpt2", pre: String? = "default", tokens: [String] = ["a", "b", "ab"],
                         merges: [String]? = ["a b"]) -> GGUFMetadata {
        var m = GGUFMetadata()
        m["tokenizer.ggml.model"] = .string(model)
        if let pre { m["tokenizer.ggml.pre"] = .string(pre) }
        m["tokenizer.ggml.tokens"] = .array(.string, tokens.map { .string($0) })
        if let merges { m["tokenizer.ggml.merges"] = .array(.string, merges.map { .string($0) }) }
        return m
    }

    @Test func fileWithoutTokenizer() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-no-tokenizer-\(getpid()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        var writer = GGUFWriter()
        writer.metadata["general.architecture"] = .string("llama")
        try writer.addTensor(name: "w", shape: [4], floats: [1, 2, 3, 4])
        try writer.write(to: url)
        let file = try GGUFFile(path: url.path)
        #expect(throws: TokenizerError.missingMetadata(key: "tokenizer.ggml.model")) { try Tokenizer(gguf: file) }
        var m = Self.metadata()
        m["tokenizer.ggml.tokens"] = nil
        #expect(throws: TokenizerError.missingMetadata(key: "tokenizer.ggml.tokens")) { try Tokenizer(metadata: m) }
    }

    @Test func unknownTokenizerModelIsNamed() {
        #expect(throws: TokenizerError.unsupportedModel("bert")) { try Tokenizer(metadata: Self.metadata(model: "bert")) }
        #expect(TokenizerError.unsupportedModel("bert").description.contains("'bert'"))
    }

    @Test func unknownPreTokenizerIsNamed() {
        #expect(throws: TokenizerError.unsupportedPreTokenizer("jais-2")) {
            try Tokenizer(metadata: Self.metadata(pre: "jais-2"))
        }
        let message = TokenizerError.unsupportedPreTokenizer("jais-2").description
        #expect(message.contains("'jais-2'") && message.contains("llama-bpe") && message.contains("smollm"))
    }

    @Test func malformedVocabularies() {
        #expect(throws: TokenizerError.duplicateToken(text: "a", firstID: 0, secondID: 2)) {
            try Tokenizer(metadata: Self.metadata(tokens: ["a", "b", "a"]))
        }
        #expect(throws: TokenizerError.missingMetadata(key: "tokenizer.ggml.merges")) {
            try Tokenizer(metadata: Self.metadata(merges: nil))
        }
        var m = Self.metadata()
        m["tokenizer.ggml.scores"] = .array(.float32, [.float32(0)])
        #expect(throws: TokenizerError.invalidMetadata(key: "tokenizer.ggml.scores", reason: "expected an array of 3 numbers")) {
            try Tokenizer(metadata: m)
        }
    }

    @Test func outOfRangeIdsInDecode() throws {
        let t = try Tokenizer(metadata: Self.metadata())
        #expect(try t.decode([0, 1, 2]) == "abab")
        #expect(throws: TokenizerError.tokenOutOfRange(id: 3, vocabularySize: 3)) { try t.decode([0, 3]) }
        #expect(throws: TokenizerError.tokenOutOfRange(id: -1, vocabularySize: 3)) { try t.decode([-1]) }
        var stream = StreamingDecoder(tokenizer: t)
        #expect(throws: TokenizerError.tokenOutOfRange(id: 99, vocabularySize: 3)) { try stream.append(99) }
        #expect(t.piece(99).isEmpty)
        #expect(TokenizerError.tokenOutOfRange(id: 99, vocabularySize: 3).description.contains("99"))
    }

    @Test func realModelsRejectForeignIds() {
        #expect(throws: TokenizerError.tokenOutOfRange(id: 262_144, vocabularySize: 262_144)) {
            try Models.gemma.decode([2, 262_144])
        }
        #expect(throws: TokenizerError.tokenOutOfRange(id: 49_152, vocabularySize: 49_152)) {
            try Models.smollm.decode([49_152])
        }
    }
}
