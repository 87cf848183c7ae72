import Agents
import APIWire
import Engine

/// Turns a request's messages and sampling fields into the runtime's prompt and options,
/// refusing what the server cannot honour with a 400 that says why.
struct PromptBuilder: Sendable {
    let engine: Engine
    let contextLength: Int

    /// The conversation rendered with the model's chat template (a base model without one
    /// continues the plain text of the messages).
    func chatPrompt(_ messages: [ChatMessage]) throws(APIError) -> [Int32] {
        guard !messages.isEmpty else { throw APIError.badRequest("'messages' must not be empty") }
        let prompt = engine.encode(chat: messages)
        try checkLength(prompt)
        return prompt
    }

    func textPrompt(_ text: String) throws(APIError) -> [Int32] {
        let prompt = engine.encode(text)
        try checkLength(prompt)
        return prompt
    }

    private func checkLength(_ prompt: [Int32]) throws(APIError) {
        if prompt.count >= contextLength {
            throw APIError(AgentError.promptTooLong(tokens: prompt.count, context: contextLength))
        }
    }

    /// OpenAI messages: `developer` is the newer name of `system`; only text content is read.
    static func messages(_ messages: [OpenAIChatMessage]) throws(APIError) -> [ChatMessage] {
        var out: [ChatMessage] = []
        for (index, message) in messages.enumerated() {
            if let kinds = message.content?.nonTextPartTypes, !kinds.isEmpty {
                throw APIError.badRequest("messages[\(index)]: only text content parts are supported (got \(kinds.joined(separator: ", ")))")
            }
            let role: ChatRole = message.role.rawValue == "developer" ? .system : message.role
            guard [ChatRole.system, .user, .assistant].contains(role) else {
                throw APIError.badRequest("messages[\(index)]: unsupported role '\(message.role)'")
            }
            out.append(ChatMessage(role: role, content: message.content?.text ?? ""))
        }
        return out
    }

    /// Anthropic's top-level `system` becomes the first message; roles are user and assistant.
    static func messages(system: AnthropicContent?, _ messages: [AnthropicMessage]) throws(APIError) -> [ChatMessage] {
        var out: [ChatMessage] = []
        if let system {
            if !system.nonTextBlockTypes.isEmpty { throw APIError.badRequest("system: only text blocks are supported") }
            if !system.text.isEmpty { out.append(.system(system.text)) }
        }
        for (index, message) in messages.enumerated() {
            guard message.role == .user || message.role == .assistant else {
                throw APIError.badRequest("messages.\(index).role: must be 'user' or 'assistant' (got '\(message.role)')")
            }
            let kinds = message.content.nonTextBlockTypes
            if !kinds.isEmpty {
                throw APIError.badRequest("messages.\(index).content: only text blocks are supported (got \(kinds.joined(separator: ", ")))")
            }
            out.append(message.chatMessage)
        }
        guard messages.first?.role == .user else {
            throw APIError.badRequest("messages: the first message must use the 'user' role")
        }
        return out
    }

    /// Sampling as asked; fields left out keep the engine's defaults. The answer is capped at
    /// the room left in the context.
    func options(prompt: Int, maxTokens: Int?, temperature: Double?, topP: Double?, topK: Int? = nil,
                 seed: Int?, stop: [String], logprobs: Int = 0) throws(APIError) -> GenerationOptions {
        if let maxTokens, maxTokens < 1 { throw APIError.badRequest("max_tokens must be at least 1 (got \(maxTokens))") }
        if let temperature, !(0...2).contains(temperature) {
            throw APIError.badRequest("temperature must be between 0 and 2 (got \(temperature))")
        }
        if let topP, !(0...1).contains(topP) { throw APIError.badRequest("top_p must be between 0 and 1 (got \(topP))") }
        if let topK, topK < 0 { throw APIError.badRequest("top_k must be non-negative (got \(topK))") }
        var sampling = SamplingParameters()
        if let temperature { sampling.temperature = Float(temperature) }
        if let topP { sampling.topP = Float(topP) }
        if let topK { sampling.topK = topK }
        if let seed { sampling.seed = UInt64(bitPattern: Int64(seed)) }
        let room = contextLength - prompt
        return GenerationOptions(maxTokens: min(maxTokens ?? room, room), sampling: sampling,
                                 stopStrings: stop.filter { !$0.isEmpty }, logprobs: logprobs)
    }
}
