import Foundation
import GGUF
import TestSupport
import Tokenizers

/// Tokenizers of the two real models, built once for the whole suite (Gemma's takes a while:
/// 262,144 tokens).
enum Models {
    static let gemma: Tokenizer = load(.gemma3)
    static let smollm: Tokenizer = load(.smollm2)

    static func load(_ name: TestModels.Name) -> Tokenizer {
        do {
            return try Tokenizer(gguf: GGUFFile(path: TestModels.path(for: name)))
        } catch {
            fatalError("cannot load the \(name.rawValue) tokenizer: \(error)")
        }
    }

    static func metadata(_ name: TestModels.Name) throws -> GGUFMetadata {
        try GGUFFile(path: TestModels.path(for: name)).metadata
    }
}

/// One row of `tokenize.jsonl`: llama-tokenize's ids for a text with and without BOS and special parsing.
struct TokenizeCase: CustomStringConvertible, Sendable {
    let name: String
    let text: String
    let addBOS: Bool
    let parseSpecial: Bool
    let ids: [Int32]

    var description: String { "\(name) bos=\(addBOS) special=\(parseSpecial)" }

    static func load(_ model: String) -> [TokenizeCase] {
        let rows = (try? Fixtures.jsonLines("\(model)/tokenize.jsonl")) ?? []
        return rows.map {
            TokenizeCase(name: $0["name"] as! String, text: $0["text"] as! String, addBOS: $0["add_bos"] as! Bool,
                         parseSpecial: $0["parse_special"] as! Bool, ids: ($0["ids"] as! [Int]).map(Int32.init))
        }
    }
}
