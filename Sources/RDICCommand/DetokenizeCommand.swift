import ArgumentParser
import Foundation
import Tokenizers

/// `rdic detokenize`: the text for token ids, the reverse of `rdic tokenize`.
struct DetokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Print the text of token ids (read from standard input when not given).",
        discussion: """
            Ids may be separated by spaces, commas or newlines, and may be wrapped in [ ], so the \
            output of `rdic tokenize` (with or without --json) can be piped in. The text is written \
            exactly, without an added newline.
            """)

    @Option(help: "A model name (rdic model list) or a path to a .gguf file. Default: the default model, installed on first use.")
    var model: String?

    @Flag(help: "Leave out control tokens such as <bos> or <end_of_turn> instead of printing their text.")
    var noSpecial = false

    @Argument(help: "Token ids. Standard input is read when none are given.")
    var ids: [String] = []

    func run() async throws {
        let tokenizer = try await loadTokenizer(model)
        let source = ids.isEmpty
            ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            : ids.joined(separator: " ")
        let bytes = try tokenizer.decodeBytes(try Self.parseIDs(source), renderSpecial: !noSpecial)
        FileHandle.standardOutput.write(Data(bytes))
    }

    /// Integers separated by whitespace, commas and brackets.
    static func parseIDs(_ text: String) throws -> [Int32] {
        let separators = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: ",[]"))
        return try text.components(separatedBy: separators).filter { !$0.isEmpty }.map { word in
            guard let id = Int32(word) else { throw ValidationError("'\(word)' is not a token id") }
            return id
        }
    }
}
