/// The legacy text completions API (`POST /v1/completions`), for base models, and the models list.

public struct OpenAICompletionRequest: Codable, Sendable, Equatable {
    public var model: String
    public var prompt: OneOrMany<String>
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var seed: Int?
    public var stop: OneOrMany<String>?
    public var n: Int?
    public var echo: Bool?
    public var stream: Bool?
    public var streamOptions: OpenAIStreamOptions?
    public var user: String?

    public init(model: String, prompt: String, maxTokens: Int? = nil, temperature: Double? = nil, stream: Bool? = nil) {
        self.model = model
        self.prompt = .one(prompt)
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
    }
}

public struct OpenAICompletionChoice: Codable, Sendable, Equatable {
    public var index: Int
    public var text: String
    public var finishReason: String?

    public init(index: Int = 0, text: String, finishReason: String?) {
        self.index = index
        self.text = text
        self.finishReason = finishReason
    }

    /// `finish_reason` and `logprobs` are written as `null` when unset, as OpenAI does (per-token
    /// log-probabilities are offered on chat completions only).
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(text, forKey: .text)
        try container.encode(finishReason, forKey: .finishReason)
        var extra = encoder.container(keyedBy: ExtraKeys.self)
        try extra.encodeNil(forKey: .logprobs)
    }

    enum CodingKeys: String, CodingKey { case index, text, finishReason }
    enum ExtraKeys: String, CodingKey { case logprobs }
}

/// A completion, or (with `object: "text_completion"` too, as OpenAI sends) one streamed chunk.
public struct OpenAICompletion: Codable, Sendable, Equatable {
    public var id: String
    public var object: String
    public var created: Int
    public var model: String
    public var choices: [OpenAICompletionChoice]
    public var usage: OpenAIUsage?

    public init(id: String, created: Int, model: String, choices: [OpenAICompletionChoice], usage: OpenAIUsage?) {
        self.id = id
        self.object = "text_completion"
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }
}

public struct OpenAIModel: Codable, Sendable, Equatable {
    public var id: String
    public var object: String
    public var created: Int
    public var ownedBy: String
    public init(id: String, created: Int, ownedBy: String) {
        self.id = id
        self.object = "model"
        self.created = created
        self.ownedBy = ownedBy
    }
}

public struct OpenAIModelList: Codable, Sendable, Equatable {
    public var object: String
    public var data: [OpenAIModel]
    public init(data: [OpenAIModel]) {
        self.object = "list"
        self.data = data
    }
}
