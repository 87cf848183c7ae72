import ArgumentParser
import Foundation
import GGUF
import ModelStore
import Tokenizers

/// `rdic tokenize`: prints the token ids llama.cpp's `llama-tokenize` would give for a text.
struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text (read from standard input when not given).")

    @Option(help: "A model name (rdic model list) or a path to a .gguf file. Default: the default model, installed on first use.")
    var model: String?

    @Flag(help: "Do not add BOS, even if the model's metadata asks for it.")
    var noBos = false

    @Flag(help: "Treat special-token text such as <start_of_turn> as plain text.")
    var noParseSpecial = false

    @Flag(help: "Print a JSON array instead of space-separated ids.")
    var json = false

    @Flag(help: "Print one token per line: its id and the text it stands for (bytes that are not whole characters in hex).")
    var pieces = false

    @Argument(help: "The text to tokenize. Standard input is read, byte for byte, when it is omitted.")
    var text: String?

    func run() async throws {
        let tokenizer = try await loadTokenizer(model)
        let input = text ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let ids = tokenizer.encode(input, addBOS: noBos ? false : nil, parseSpecial: !noParseSpecial)
        if pieces {
            for id in ids { print("\(id)\t\(Self.describe(tokenizer.piece(id)))") }
            return
        }
        let list = ids.map(String.init)
        print(json ? "[" + list.joined(separator: ", ") + "]" : list.joined(separator: " "))
    }

    /// A piece as a quoted, escaped string, or as hex bytes when it is not valid UTF-8 on its own.
    static func describe(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text.debugDescription }
        return bytes.map { "<0x" + String($0, radix: 16, uppercase: true).paddedHex + ">" }.joined()
    }
}

/// The tokenizer of the model `spec` names; nil means the default model, as for `rdic run`.
func loadTokenizer(_ spec: String?) async throws -> Tokenizer {
    try Tokenizer(gguf: GGUFFile(path: await ModelResolution.resolve(spec).path))
}

private extension String {
    var paddedHex: String { count == 1 ? "0" + self : self }
}
