import TestSupport
import Testing
import Tokenizers

/// The prompts of the greedy-generation fixtures (up to ~1,400 tokens of licence text) must encode
/// to llama.cpp's prompt ids, and the generated ids must decode to llama.cpp's text.
@Suite(.computeBound) struct GreedyPromptTests {
    struct Row: CustomStringConvertible, Sendable {
        let model: String, name: String, prompt: String, promptIDs: [Int32], outputIDs: [Int32], text: String
        var description: String { "\(model) \(name)" }
    }

    static func rows(_ model: String) -> [Row] {
        ((try? Fixtures.jsonLines("\(model)/greedy.jsonl")) ?? []).map {
            Row(model: model, name: $0["name"] as! String, prompt: $0["prompt"] as! String,
                promptIDs: ($0["prompt_ids"] as! [Int]).map(Int32.init),
                outputIDs: ($0["output_ids"] as! [Int]).map(Int32.init), text: $0["text"] as! String)
        }
    }

    static func tokenizer(_ row: Row) throws -> Tokenizer { row.model == "gemma3-270m" ? try Models.gemma : try Models.smollm }

    @Test(arguments: rows("gemma3-270m") + rows("smollm2-135m"))
    func promptIDs(_ row: Row) throws {
        #expect(try Self.tokenizer(row).encode(row.prompt) == row.promptIDs)
    }

    @Test(arguments: rows("gemma3-270m") + rows("smollm2-135m"))
    func outputText(_ row: Row) throws {
        let t = try Self.tokenizer(row)
        let text = try t.decode(row.outputIDs.filter { !t.isEndOfGeneration($0) })
        #expect(text == row.text)
        var stream = StreamingDecoder(tokenizer: t)
        var streamed = ""
        for id in row.outputIDs where !t.isEndOfGeneration(id) { streamed += try stream.append(id) }
        streamed += stream.finish()
        #expect(streamed == row.text)
    }
}
