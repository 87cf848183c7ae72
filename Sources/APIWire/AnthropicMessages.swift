/// Anthropic Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`).

/// A content block. Only the fields of the block types rdic reads (`text`, `thinking`) are kept;
/// other types (`image`, `tool_use`, ...) decode with their `type` so they can be refused.
public struct AnthropicContentBlock: Codable, Sendable, Equatable {
    public var type: String
    public var text: String?
    public var thinking: String?
    public var signature: String?

    public init(type: String = "text", text: String? = nil) {
        self.type = type
        self.text = text
    }

    public static func text(_ text: String) -> AnthropicContentBlock { AnthropicContentBlock(type: "text", text: text) }
}

/// `content` of a message, and `system`: a string or an array of blocks.
public enum AnthropicContent: Codable, Sendable, Equatable {
    case text(String)
    case blocks([AnthropicContentBlock])

    public var text: String {
        switch self {
        case .text(let text): text
        case .blocks(let blocks): blocks.filter { $0.type == "text" }.compactMap(\.text).joined()
        }
    }

    public var nonTextBlockTypes: [String] {
        guard case .blocks(let blocks) = self else { return [] }
        return blocks.map(\.type).filter { $0 != "text" }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            self = .blocks(try container.decode([AnthropicContentBlock].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .blocks(let blocks): try container.encode(blocks)
        }
    }
}

public struct AnthropicMessage: Codable, Sendable, Equatable {
    public var role: ChatRole
    public var content: AnthropicContent

    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = .text(content)
    }

    public var chatMessage: ChatMessage { ChatMessage(role: role, content: content.text) }
}

public struct AnthropicMetadata: Codable, Sendable, Equatable {
    public var userId: String?
    public init(userId: String?) { self.userId = userId }
}

/// Extended thinking (`{"type": "enabled", "budget_tokens": N}`).
public struct AnthropicThinking: Codable, Sendable, Equatable {
    public var type: String
    public var budgetTokens: Int?
    public init(budgetTokens: Int) {
        self.type = "enabled"
        self.budgetTokens = budgetTokens
    }
}

public struct AnthropicMessagesRequest: Codable, Sendable, Equatable {
    public var model: String
    /// Required by the API: a request without it is a 400.
    public var maxTokens: Int
    public var system: AnthropicContent?
    public var messages: [AnthropicMessage]
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var stopSequences: [String]?
    public var stream: Bool?
    public var metadata: AnthropicMetadata?
    public var thinking: AnthropicThinking?

    public init(model: String, maxTokens: Int, system: String? = nil, messages: [AnthropicMessage],
                temperature: Double? = nil, topP: Double? = nil, stopSequences: [String]? = nil, stream: Bool? = nil,
                thinking: AnthropicThinking? = nil) {
        self.model = model
        self.maxTokens = maxTokens
        self.system = system.map { .text($0) }
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.stopSequences = stopSequences
        self.stream = stream
        self.thinking = thinking
    }
}

/// `POST /v1/messages/count_tokens`: a messages request without `max_tokens`.
public struct AnthropicCountTokensRequest: Codable, Sendable, Equatable {
    public var model: String
    public var system: AnthropicContent?
    public var messages: [AnthropicMessage]
}

public struct AnthropicCountTokensResponse: Codable, Sendable, Equatable {
    public var inputTokens: Int
    public init(inputTokens: Int) { self.inputTokens = inputTokens }
}

/// `input_tokens` counts only the tokens that were not read from the cache, as Anthropic's
/// prompt caching reports them: the prompt is `input + cache_read + cache_creation`.
public struct AnthropicUsage: Codable, Sendable, Equatable {
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var cacheCreationInputTokens: Int?
    public var cacheReadInputTokens: Int?

    public init(inputTokens: Int, outputTokens: Int, cacheCreationInputTokens: Int? = nil, cacheReadInputTokens: Int? = nil) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
    }
}

public struct AnthropicMessagesResponse: Codable, Sendable, Equatable {
    public var id: String?
    public var type: String?
    public var role: ChatRole?
    public var model: String?
    public var content: [AnthropicContentBlock]?
    public var stopReason: String?
    public var stopSequence: String?
    public var usage: AnthropicUsage?

    public init(id: String, model: String, content: [AnthropicContentBlock], stopReason: String?,
                stopSequence: String?, usage: AnthropicUsage) {
        self.id = id
        self.type = "message"
        self.role = .assistant
        self.model = model
        self.content = content
        self.stopReason = stopReason
        self.stopSequence = stopSequence
        self.usage = usage
    }

    /// `stop_reason` and `stop_sequence` are written as `null` when unset (in `message_start`).
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(role, forKey: .role)
        try container.encodeIfPresent(model, forKey: .model)
        try container.encodeIfPresent(content, forKey: .content)
        try container.encode(stopReason, forKey: .stopReason)
        try container.encode(stopSequence, forKey: .stopSequence)
        try container.encodeIfPresent(usage, forKey: .usage)
    }
}

public struct AnthropicErrorInfo: Codable, Sendable, Equatable {
    public var type: String?
    public var message: String?
    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }
}

/// `{"type": "error", "error": {"type", "message"}}`.
public struct AnthropicErrorBody: Codable, Sendable, Equatable {
    public var type: String?
    public var error: AnthropicErrorInfo?
    public init(_ error: AnthropicErrorInfo) {
        self.type = "error"
        self.error = error
    }
}

/// One entry of Anthropic's `GET /v1/models`.
public struct AnthropicModel: Codable, Sendable, Equatable {
    public var type: String
    public var id: String
    public var displayName: String
    /// RFC 3339.
    public var createdAt: String
    public init(id: String, displayName: String, createdAt: String) {
        self.type = "model"
        self.id = id
        self.displayName = displayName
        self.createdAt = createdAt
    }
}

/// Anthropic's paginated model list (one page holds every model here).
public struct AnthropicModelList: Codable, Sendable, Equatable {
    public var data: [AnthropicModel]
    public var hasMore: Bool
    public var firstId: String?
    public var lastId: String?
    public init(data: [AnthropicModel]) {
        self.data = data
        self.hasMore = false
        self.firstId = data.first?.id
        self.lastId = data.last?.id
    }
}
