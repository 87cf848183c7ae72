/// OpenAI chat completions (`POST /v1/chat/completions`): request, response and stream chunk.
/// Optional fields stay optional on both sides: a provider sends only what it sets and reads
/// whatever a server returns; the server fills in every field the documented shape has.

/// A message's `content`: a string, or an array of typed parts (only `text` parts carry text).
public enum OpenAIContent: Codable, Sendable, Equatable {
    case text(String)
    case parts([Part])

    public struct Part: Codable, Sendable, Equatable {
        public var type: String
        public var text: String?
        public init(type: String = "text", text: String?) {
            self.type = type
            self.text = text
        }
    }

    /// The concatenated text; non-text parts contribute nothing.
    public var text: String {
        switch self {
        case .text(let text): text
        case .parts(let parts): parts.compactMap(\.text).joined()
        }
    }

    /// Types of parts that are not text (images, audio): the server refuses them.
    public var nonTextPartTypes: [String] {
        guard case .parts(let parts) = self else { return [] }
        return parts.map(\.type).filter { $0 != "text" }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .parts(try container.decode([Part].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .parts(let parts): try container.encode(parts)
        }
    }
}

public struct OpenAIChatMessage: Codable, Sendable, Equatable {
    public var role: ChatRole
    /// Absent for assistant messages that only carry tool calls.
    public var content: OpenAIContent?
    public var name: String?

    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = .text(content)
    }

    public init(_ message: ChatMessage) { self.init(role: message.role, content: message.content) }

    public var chatMessage: ChatMessage { ChatMessage(role: role, content: content?.text ?? "") }
}

public struct OpenAIStreamOptions: Codable, Sendable, Equatable {
    public var includeUsage: Bool?
    public init(includeUsage: Bool?) { self.includeUsage = includeUsage }
}

public struct OpenAIChatRequest: Codable, Sendable, Equatable {
    public var model: String
    public var messages: [OpenAIChatMessage]
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var seed: Int?
    public var stop: OneOrMany<String>?
    public var logprobs: Bool?
    public var topLogprobs: Int?
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: OpenAIStreamOptions?
    public var promptCacheKey: String?
    public var user: String?

    public init(model: String, messages: [OpenAIChatMessage], maxTokens: Int? = nil, temperature: Double? = nil,
                topP: Double? = nil, seed: Int? = nil, stop: OneOrMany<String>? = nil, stream: Bool? = nil,
                streamOptions: OpenAIStreamOptions? = nil) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
        self.stop = stop
        self.stream = stream
        self.streamOptions = streamOptions
    }

    /// `max_completion_tokens` (the current name) wins over the deprecated `max_tokens`.
    public var tokenLimit: Int? { maxCompletionTokens ?? maxTokens }
}

/// `message` in a completion, `delta` in a chunk. `reasoning_content` is DeepSeek's name for
/// the reasoning trace, `reasoning` the one vLLM and some gateways use.
public struct OpenAIResponseMessage: Codable, Sendable, Equatable {
    public var role: ChatRole?
    public var content: String?
    public var reasoningContent: String?
    public var reasoning: String?

    public init(role: ChatRole? = nil, content: String? = nil) {
        self.role = role
        self.content = content
    }

    public var reasoningText: String? { reasoningContent ?? reasoning }
}

public struct OpenAITopLogprob: Codable, Sendable, Equatable {
    public var token: String
    public var logprob: Double
    public var bytes: [UInt8]?
    public init(token: String, logprob: Double, bytes: [UInt8]? = nil) {
        self.token = token
        self.logprob = logprob
        self.bytes = bytes ?? Array(token.utf8)
    }
}

public struct OpenAITokenLogprob: Codable, Sendable, Equatable {
    public var token: String
    public var logprob: Double
    public var bytes: [UInt8]?
    public var topLogprobs: [OpenAITopLogprob]
    public init(token: String, logprob: Double, bytes: [UInt8]? = nil, topLogprobs: [OpenAITopLogprob]) {
        self.token = token
        self.logprob = logprob
        self.bytes = bytes ?? Array(token.utf8)
        self.topLogprobs = topLogprobs
    }
}

public struct OpenAILogprobs: Codable, Sendable, Equatable {
    public var content: [OpenAITokenLogprob]?
    public init(content: [OpenAITokenLogprob]?) { self.content = content }
}

public struct OpenAIChatChoice: Codable, Sendable, Equatable {
    public var index: Int?
    public var message: OpenAIResponseMessage?
    public var delta: OpenAIResponseMessage?
    public var finishReason: String?
    public var logprobs: OpenAILogprobs?

    public init(index: Int = 0, message: OpenAIResponseMessage? = nil, delta: OpenAIResponseMessage? = nil,
                finishReason: String? = nil, logprobs: OpenAILogprobs? = nil) {
        self.index = index
        self.message = message
        self.delta = delta
        self.finishReason = finishReason
        self.logprobs = logprobs
    }

    /// A chunk's choice: `finish_reason` and `logprobs` are written as `null` while streaming,
    /// as OpenAI does.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(index, forKey: .index)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encodeIfPresent(delta, forKey: .delta)
        try container.encode(finishReason, forKey: .finishReason)
        try container.encode(logprobs, forKey: .logprobs)
    }
}

public struct OpenAIUsage: Codable, Sendable, Equatable {
    public struct PromptDetails: Codable, Sendable, Equatable {
        public var cachedTokens: Int?
        public init(cachedTokens: Int?) { self.cachedTokens = cachedTokens }
    }
    public struct CompletionDetails: Codable, Sendable, Equatable {
        public var reasoningTokens: Int?
        public init(reasoningTokens: Int?) { self.reasoningTokens = reasoningTokens }
    }
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var totalTokens: Int?
    public var promptTokensDetails: PromptDetails?
    public var completionTokensDetails: CompletionDetails?

    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = promptTokens + completionTokens
        self.promptTokensDetails = PromptDetails(cachedTokens: cachedTokens)
    }
}

/// An error object, in a 200 body (DeepSeek) or an error response.
public struct OpenAIErrorInfo: Codable, Sendable, Equatable {
    public var message: String?
    public var type: String?
    public var code: String?
    public var param: String?

    public init(message: String, type: String, code: String? = nil, param: String? = nil) {
        self.message = message
        self.type = type
        self.code = code
        self.param = param
    }

    enum CodingKeys: String, CodingKey { case message, type, code, param }

    /// `code` is a string at OpenAI and a number at some compatible servers (llama.cpp).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        message = try? container.decodeIfPresent(String.self, forKey: .message)
        type = try? container.decodeIfPresent(String.self, forKey: .type)
        param = try? container.decodeIfPresent(String.self, forKey: .param)
        code = (try? container.decodeIfPresent(String.self, forKey: .code))
            ?? (try? container.decodeIfPresent(Int.self, forKey: .code)).flatMap { $0.map(String.init) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(message, forKey: .message)
        try container.encode(type, forKey: .type)
        try container.encode(code, forKey: .code)
        try container.encode(param, forKey: .param)
    }
}

/// `{"error": {"message", "type", "code", "param"}}`.
public struct OpenAIErrorBody: Codable, Sendable, Equatable {
    public var error: OpenAIErrorInfo
    public init(_ error: OpenAIErrorInfo) { self.error = error }
}

public struct OpenAIChatCompletion: Codable, Sendable, Equatable {
    public var id: String?
    public var object: String?
    public var created: Int?
    public var model: String?
    public var choices: [OpenAIChatChoice]?
    public var usage: OpenAIUsage?
    public var systemFingerprint: String?
    public var error: OpenAIErrorInfo?

    public init(id: String, created: Int, model: String, choices: [OpenAIChatChoice], usage: OpenAIUsage?,
                object: String = "chat.completion") {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }
}

/// A streamed chunk has the completion's shape with `object: "chat.completion.chunk"` and
/// `delta` in place of `message`; the final usage chunk has empty `choices`.
public typealias OpenAIChatChunk = OpenAIChatCompletion
