import Engine
import Tokenizers

/// One thread's conversation as tokens, built turn by turn so it only ever grows: each turn's
/// tokens are those of the text the chat template adds, encoded alone. The cache holds some of
/// these tokens (all, without compression); a request's prompt is the cache's tokens followed
/// by the conversation's tokens the cache has not seen yet.
struct Transcript: Sendable {
    let engine: Engine
    private(set) var messages: [ChatMessage]
    /// The whole conversation so far, uncompressed.
    private(set) var tokens: [Int32] = []
    private var rendered = ""

    init(engine: Engine, system: String?) {
        self.engine = engine
        messages = system.map { [.system($0)] } ?? []
    }

    /// Adds a user turn and the assistant header after it; returns the tokens added.
    mutating func addUser(_ text: String) throws(ExperimentError) -> [Int32] {
        messages.append(.user(text))
        return try extend(addGenerationPrompt: true)
    }

    /// Adds the assistant's answer and the end of its turn; returns the tokens added.
    mutating func addAssistant(_ text: String) throws(ExperimentError) -> [Int32] {
        messages.append(.assistant(text))
        return try extend(addGenerationPrompt: false)
    }

    private mutating func extend(addGenerationPrompt: Bool) throws(ExperimentError) -> [Int32] {
        guard let template = engine.chatTemplate else {
            // No template: plain text, one message per line.
            let piece = (tokens.isEmpty ? "" : "\n") + (messages.last?.content ?? "")
            let added = tokens.isEmpty ? engine.encode(piece) : engine.tokenizer.encode(piece, addBOS: false, parseSpecial: false)
            tokens += added
            return added
        }
        let text = template.render(messages, addGenerationPrompt: addGenerationPrompt)
        guard text.hasPrefix(rendered) else { throw .templateNotIncremental }
        let piece = String(text.dropFirst(rendered.count))
        let added = tokens.isEmpty ? engine.encode(piece) : engine.tokenizer.encode(piece, addBOS: false, parseSpecial: true)
        rendered = text
        tokens += added
        return added
    }
}
