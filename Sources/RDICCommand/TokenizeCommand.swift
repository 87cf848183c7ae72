import ArgumentParser
import Foundation
import GGUF
import ModelStore
import Tokenizers

/// `rdic tokenize`: prints the token ids llama.cpp's `llama-tokenize` would give for a text.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text (read from standard input when not given).")

    @Option(help: "A model name (rdic model list) or a path to a .gguf file.")
    var model: String

    @Flag(help: "Do not add BOS, even if the model's metadata asks for it.")
    var noBos = false

    @Flag(help: "Treat special-token text such as <start_of_turn> as plain text.")
    var noParseSpecial = false

    @Flag(help: "Print a JSON array instead of space-separated ids.")
    var json = false

    @Argument(help: "The text to tokenize. Standard input is read, byte for byte, when it is omitted.")
    var text: String?

    func run() throws {
        let tokenizer = try loadTokenizer(model)
        let input = text ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let ids = tokenizer.encode(input, addBOS: noBos ? false : nil, parseSpecial: !noParseSpecial)
        let list = ids.map(String.init)
        print(json ? "[" + list.joined(separator: ", ") + "]" : list.joined(separator: " "))
    }
}

/// The GGUF file a `--model` argument names: a path, an installed name, or a name found in another
/// tool's cache (ModelStore's resolution). Kept in one place so every subcommand resolves alike.
func resolveModelPath(_ spec: String) throws -> String {
    try ModelStore.fromEnvironment().resolve(spec).path
}

/// The tokenizer of the model `spec` names.
func loadTokenizer(_ spec: String) throws -> Tokenizer {
    try Tokenizer(gguf: GGUFFile(path: resolveModelPath(spec)))
}
