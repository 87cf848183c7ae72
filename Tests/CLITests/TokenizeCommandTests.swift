import Foundation
import TestSupport
import Testing

/// `rdic tokenize` / `rdic detokenize` on the real models, run as the built binary.
@Suite(.computeBound) struct TokenizeCommandTests {
    let env = ["RDIC_HOME": FileManager.default.temporaryDirectory.appendingPathComponent("rdic-tok-\(UUID().uuidString)").path]

    @Test func tokenizeMatchesLlamaCpp() throws {
        let gemma = try TestModels.path(for: .gemma3)
        let text = "Hello, world! This is a simple English sentence."
        let plain = try RDICBinary.run(["tokenize", "--model", gemma, text], environment: env)
        #expect(plain.status == 0)
        #expect(plain.stdout == "2 9259 236764 1902 236888 1174 563 496 3606 5422 13315 236761\n")
        let json = try RDICBinary.run(["tokenize", "--model", gemma, "--json", "--no-bos", text], environment: env)
        #expect(json.stdout == "[9259, 236764, 1902, 236888, 1174, 563, 496, 3606, 5422, 13315, 236761]\n")
        // From standard input, and with special-token parsing off.
        let turn = "<start_of_turn>user\n"
        let parsed = try RDICBinary.run(["tokenize", "--model", gemma, "--no-bos"], environment: env, stdin: turn)
        #expect(parsed.stdout == "105 2364 107\n")
        let literal = try RDICBinary.run(["tokenize", "--model", gemma, "--no-bos", "--no-parse-special", turn], environment: env)
        #expect(literal.stdout.split(separator: " ").count > 3)
        // One line per token; "ꙮ" is not in Gemma's vocabulary: three byte tokens, shown in hex.
        let pieces = try RDICBinary.run(["tokenize", "--model", gemma, "--pieces", "Hi ꙮ"], environment: env)
        #expect(pieces.status == 0)
        #expect(pieces.stdout == "2\t\"<bos>\"\n10979\t\"Hi\"\n236743\t\" \"\n472\t<0xEA>\n391\t<0x99>\n412\t<0xAE>\n")
    }

    @Test func detokenizeReversesTokenize() throws {
        let smollm = try TestModels.path(for: .smollm2)
        let text = "I'm sure 🍕 日本語 <|im_start|>"
        let ids = try RDICBinary.run(["tokenize", "--model", smollm, "--json", text], environment: env)
        #expect(ids.status == 0)
        let back = try RDICBinary.run(["detokenize", "--model", smollm], environment: env, stdin: ids.stdout)
        #expect(back.status == 0)
        #expect(back.stdout == text)
        let args = try RDICBinary.run(["detokenize", "--model", smollm, "1", "4093", "198"], environment: env)
        #expect(args.stdout == "<|im_start|>user\n")
        let hidden = try RDICBinary.run(["detokenize", "--model", smollm, "--no-special", "1", "4093", "198"], environment: env)
        #expect(hidden.stdout == "user\n")
    }

    /// Like every other local command, no `--model` means the store's default model.
    @Test func defaultModelIsUsedWhenNoneIsNamed() throws {
        let gemma = try TestModels.path(for: .gemma3)
        let install = try RDICBinary.run(["model", "install", gemma, "--name", "my-gemma"], environment: env)
        #expect(install.status == 0, "\(install.stderr)")
        let setDefault = try RDICBinary.run(["model", "default", "my-gemma"], environment: env)
        #expect(setDefault.status == 0, "\(setDefault.stderr)")
        let ids = try RDICBinary.run(["tokenize", "Hello, world!"], environment: env)
        #expect(ids.status == 0, "\(ids.stderr)")
        #expect(ids.stdout == "2 9259 236764 1902 236888\n")
        let text = try RDICBinary.run(["detokenize", "--no-special"], environment: env, stdin: ids.stdout)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout == "Hello, world!")
    }

    @Test func badInputFailsWithAMessage() throws {
        let gemma = try TestModels.path(for: .gemma3)
        let range = try RDICBinary.run(["detokenize", "--model", gemma, "2", "262144"], environment: env)
        #expect(range.status != 0)
        #expect(range.stderr.contains("token id 262144 is out of range (vocabulary has 262144 tokens)"))
        let word = try RDICBinary.run(["detokenize", "--model", gemma, "2", "two"], environment: env)
        #expect(word.status != 0)
        #expect(word.stderr.contains("'two' is not a token id"))
        let unknown = try RDICBinary.run(["tokenize", "--model", "no-such-model", "hi"], environment: env)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown model 'no-such-model'"))
    }
}
