import Foundation
import GGUF
// The one message type of the project lives with the wire types; re-exported so that code
// rendering templates sees `ChatMessage` without a second import.
@_exported import APIWire

/// Renders a conversation into the prompt text a model was trained on.
///
/// Rather than interpreting the Jinja source in the GGUF, the three families rdic runs are written
/// out here; the template text (or, when a file has none, the architecture or vocabulary) only picks
/// the family and supplies ChatML's default system prompt. The tests compare each family against its
/// reference Jinja template rendered by Python's jinja2.
///
/// The rendered text leaves out the BOS token by default: encode it with `addBOS: nil` and the
/// tokenizer adds BOS as the model's metadata says, exactly once.
public struct ChatTemplate: Sendable, Equatable {
    public enum Family: String, Sendable, CaseIterable {
        /// `<start_of_turn>user\n...<end_of_turn>\n`, assistant called "model", system folded into the first turn.
        case gemma
        /// `<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>` (Llama 3 Instruct).
        case llama3
        /// `<|im_start|>role\n...<|im_end|>\n` (SmolLM2, Qwen, ...).
        case chatML
    }

    public let family: Family
    /// ChatML: the system prompt the template inserts when the conversation has none.
    public let defaultSystemPrompt: String?
    /// The BOS token's text, written first when `render(..., includeBOS: true)`.
    public let bosText: String?

    public init(family: Family, defaultSystemPrompt: String? = nil, bosText: String? = nil) {
        self.family = family
        self.defaultSystemPrompt = defaultSystemPrompt
        self.bosText = bosText
    }

    /// The marker that ends a turn; generation should stop on its token.
    public var endOfTurn: String {
        switch family {
        case .gemma: "<end_of_turn>"
        case .llama3: "<|eot_id|>"
        case .chatML: "<|im_end|>"
        }
    }

    /// The template for a model: from `tokenizer.chat_template` when present, else from the
    /// architecture (Gemma 3 270M's file has no template), else from the turn markers in its vocabulary.
    public static func forModel(metadata m: GGUFMetadata) throws(TokenizerError) -> ChatTemplate {
        let tokens = m.strings("tokenizer.ggml.tokens") ?? []
        let bosText = m.int("tokenizer.ggml.bos_token_id").flatMap { tokens.indices.contains($0) ? tokens[$0] : nil }
        let source = m.string("tokenizer.chat_template")
        var family: Family?
        if let source { family = detect(template: source) }
        if family == nil, source == nil, let arch = m.architecture, arch.hasPrefix("gemma") { family = .gemma }
        if family == nil, source == nil {
            let vocab = Set(tokens)
            if vocab.contains("<|im_start|>") { family = .chatML }
            else if vocab.contains("<start_of_turn>") { family = .gemma }
            else if vocab.contains("<|start_header_id|>") { family = .llama3 }
        }
        guard let family else {
            if let source { throw .unsupportedChatTemplate(String(source.prefix(80))) }
            throw .missingMetadata(key: "tokenizer.chat_template")
        }
        let system = family == .chatML ? source.flatMap(defaultSystemPrompt(inChatML:)) : nil
        return ChatTemplate(family: family, defaultSystemPrompt: system, bosText: family == .chatML ? nil : bosText)
    }

    public static func forModel(gguf: GGUFFile) throws(TokenizerError) -> ChatTemplate {
        try forModel(metadata: gguf.metadata)
    }

    /// The family a Jinja template belongs to, by the turn markers it writes (as llama.cpp detects them).
    public static func detect(template: String) -> Family? {
        if template.contains("<|im_start|>") { return .chatML }
        if template.contains("<start_of_turn>") { return .gemma }
        if template.contains("<|start_header_id|>") && template.contains("<|end_header_id|>") { return .llama3 }
        return nil
    }

    /// A literal system prompt the template writes itself (`<|im_start|>system\nTEXT<|im_end|>` with
    /// TEXT free of template syntax), used when the conversation does not start with a system message.
    static func defaultSystemPrompt(inChatML source: String) -> String? {
        let text = source.replacingOccurrences(of: "\\n", with: "\n")
        var rest = text[...]
        while let open = rest.range(of: "<|im_start|>system\n") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "<|im_end|>") else { return nil }
            let candidate = rest[..<close.lowerBound]
            if !candidate.isEmpty && !candidate.contains(where: { "'\"{}+".contains($0) }) { return String(candidate) }
        }
        return nil
    }

    /// The prompt text for `messages`, ending with the assistant's turn header when
    /// `addGenerationPrompt` is set.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, includeBOS: Bool = false) -> String {
        var out = ""
        switch family {
        case .gemma:
            if includeBOS, let bosText { out += bosText }
            var turns = messages[...]
            var prefix = ""
            if let first = turns.first, first.role == "system" {
                prefix = first.content + "\n\n"
                turns = turns.dropFirst()
            }
            for (i, m) in turns.enumerated() {
                let role = m.role == "assistant" ? "model" : m.role
                out += "<start_of_turn>\(role)\n" + (i == 0 ? prefix : "") + trim(m.content) + "<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        case .llama3:
            for (i, m) in messages.enumerated() {
                if i == 0 && includeBOS, let bosText { out += bosText }
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .chatML:
            for (i, m) in messages.enumerated() {
                if i == 0 && m.role != "system", let system = defaultSystemPrompt {
                    out += "<|im_start|>system\n\(system)<|im_end|>\n"
                }
                out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        }
        return out
    }

    /// Jinja's `trim` (Python `str.strip()`): leading and trailing whitespace.
    private func trim(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
}
