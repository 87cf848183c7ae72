import Foundation
import GGUF
import TestSupport
import Tokenizers

/// Tokenizers of the two real models, built once for the whole suite (Gemma's vocabulary has
/// 262,144 tokens). A missing model fails the tests that need it, with TestModels' message.
enum Models {
    private static let gemmaResult = Result { try load(.gemma3) }
    private static let smollmResult = Result { try load(.smollm2) }
    static var gemma: Tokenizer { get throws { try gemmaResult.get() } }
    static var smollm: Tokenizer { get throws { try smollmResult.get() } }

    static func load(_ name: TestModels.Name) throws -> Tokenizer {
        try Tokenizer(gguf: GGUFFile(path: TestModels.path(for: name)))
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
