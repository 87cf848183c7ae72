import GGUF
import TestSupport
import Testing
import Tokenizers

/// Chat prompts against each family's reference Jinja template rendered by jinja2
/// (Tests/TestSupport/Fixtures/tokenizers/generate_chat_templates.py).
@Suite struct ChatTemplateTests {
    struct Row: CustomStringConvertible, Sendable {
        let family: String, messages: [ChatMessage], generationPrompt: Bool, includeBOS: Bool, expected: String
        var description: String { "\(family) \(messages.map(\.role)) gen=\(generationPrompt) bos=\(includeBOS)" }
    }

    static let rows: [Row] = ((try? Fixtures.jsonLines("tokenizers/chat_templates.jsonl")) ?? []).map {
        Row(family: $0["family"] as! String,
            messages: ($0["messages"] as! [[String: String]]).map { ChatMessage(role: $0["role"]!, content: $0["content"]!) },
            generationPrompt: $0["add_generation_prompt"] as! Bool, includeBOS: $0["include_bos"] as! Bool,
            expected: $0["expected"] as! String)
    }

    private static let gemmaResult = Result { try ChatTemplate.forModel(metadata: Models.metadata(.gemma3)) }
    private static let smollmResult = Result { try ChatTemplate.forModel(metadata: Models.metadata(.smollm2)) }
    static var gemma: ChatTemplate { get throws { try gemmaResult.get() } }
    static var smollm: ChatTemplate { get throws { try smollmResult.get() } }
    static let llama3 = ChatTemplate(family: .llama3, bosText: "<|begin_of_text|>")

    @Test(arguments: rows)
    func matchesReferenceTemplate(_ row: Row) throws {
        let template = switch row.family {
        case "gemma": try Self.gemma
        case "llama3": Self.llama3
        default: try Self.smollm
        }
        #expect(template.render(row.messages, addGenerationPrompt: row.generationPrompt, includeBOS: row.includeBOS)
                == row.expected)
    }

    @Test func fixtureCoversEveryFamily() {
        #expect(Set(Self.rows.map(\.family)) == ["gemma", "llama3", "chatml"])
        #expect(Self.rows.count > 50)
    }

    @Test func chosenFromMetadata() throws {
        // Gemma 3 270M has no template: chosen by architecture.
        #expect(try Models.metadata(.gemma3).string("tokenizer.chat_template") == nil)
        #expect(try Self.gemma.family == .gemma)
        #expect(try Self.gemma.bosText == "<bos>")
        #expect(try Self.gemma.endOfTurn == "<end_of_turn>")
        // SmolLM2's template is ChatML with a default system prompt written into it.
        #expect(try Self.smollm.family == .chatML)
        #expect(try Self.smollm.defaultSystemPrompt == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        // A Llama 3 template is recognised by its header markers.
        var m = GGUFMetadata()
        m["tokenizer.chat_template"] = .string(
            "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}{% endfor %}")
        #expect(try ChatTemplate.forModel(metadata: m).family == .llama3)
    }

    @Test func unknownTemplateIsAnError() {
        var m = GGUFMetadata()
        m["tokenizer.chat_template"] = .string("{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}")
        #expect(throws: TokenizerError.unsupportedChatTemplate("{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}")) {
            try ChatTemplate.forModel(metadata: m)
        }
        #expect(throws: TokenizerError.missingMetadata(key: "tokenizer.chat_template")) {
            try ChatTemplate.forModel(metadata: GGUFMetadata())
        }
    }

    /// The rendered prompt, tokenized with the metadata's BOS, is exactly llama.cpp's prompt.
    @Test func renderedPromptsTokenizeLikeTheGreedyFixtures() throws {
        let gemmaIDs = try Models.gemma.encode(try Self.gemma.render([.user("What is the capital of France?")]))
        let gemmaRow = GreedyPromptTests.rows("gemma3-270m").first { $0.name == "chat_capital" }
        #expect(gemmaIDs == gemmaRow?.promptIDs)
        // The SmolLM2 fixture prompt has no system turn; render it with an explicit empty-free template.
        let chatML = ChatTemplate(family: .chatML)
        let smolIDs = try Models.smollm.encode(chatML.render([.user("What is the capital of France?")]))
        let smolRow = GreedyPromptTests.rows("smollm2-135m").first { $0.name == "chat_capital" }
        #expect(smolIDs == smolRow?.promptIDs)
        let bos = try Models.gemma.bos
        #expect(gemmaIDs.first == bos && gemmaIDs.dropFirst().first != bos)
    }

    @Test func endOfGenerationTokens() throws {
        let g = try Models.gemma, s = try Models.smollm
        let endOfTurn = try #require(g.token(forText: "<end_of_turn>"))
        #expect(g.eos == 1 && g.eot == endOfTurn)
        // llama.cpp also lists "</s>" (a user-defined token in Gemma's vocabulary) by its text.
        let closingS = try #require(g.token(forText: "</s>"))
        #expect(Set(g.endOfGenerationTokens) == [1, endOfTurn, closingS])
        #expect(g.isEndOfGeneration(endOfTurn) && !g.isEndOfGeneration(g.bos!))
        let imEnd = try #require(s.token(forText: "<|im_end|>")), endOfText = try #require(s.token(forText: "<|endoftext|>"))
        // "<reponame>" is taken for the FIM repository token by its text, which llama.cpp counts as EOG.
        let repoName = try #require(s.token(forText: "<reponame>"))
        #expect(Set(s.endOfGenerationTokens) == [imEnd, endOfText, repoName])
        #expect(s.eos == imEnd)
        #expect(s.token(forText: try Self.smollm.endOfTurn) == imEnd)
    }
}
