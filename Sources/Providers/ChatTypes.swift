import Foundation
// `ChatMessage` and `ChatRole` are the shared wire types; re-exported for Providers' users.
@_exported import APIWire

/// A backend-neutral chat request. Optional sampling fields are sent only when set, so each
/// backend's own defaults apply otherwise; `seed` is dropped by backends that have no such
/// parameter (Anthropic) rather than rejected, because research code sets it uniformly.
public struct ChatRequest: Sendable, Equatable {
    /// The backend's model id (not the friendly alias): e.g. `claude-haiku-4-5`. May be left
    /// empty when the request goes through `ProviderFactory.provider(named:)`, which fills in
    /// the alias's model.
    public var model: String
    public var messages: [ChatMessage]
    public var system: String?
    public var maxTokens: Int
    public var temperature: Double?
    public var topP: Double?
    public var stopSequences: [String]
    public var seed: Int?
    /// Ask for a reasoning trace with this many tokens of budget, on backends where reasoning is
    /// opt-in: Anthropic extended thinking (`thinking.budget_tokens`, at least 1024 and below
    /// `maxTokens`; Anthropic then requires `temperature` unset) and Ollama (`think: true`).
    /// DeepSeek R1 always reasons, so this is not sent to OpenAI-compatible servers.
    public var thinkingBudget: Int?

    public init(
        model: String = "", messages: [ChatMessage], system: String? = nil, maxTokens: Int = 1024,
        temperature: Double? = nil, topP: Double? = nil, stopSequences: [String] = [], seed: Int? = nil,
        thinkingBudget: Int? = nil
    ) {
        self.thinkingBudget = thinkingBudget
        self.model = model
        self.messages = messages
        self.system = system
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.stopSequences = stopSequences
        self.seed = seed
    }

    /// The system prompt plus any `system`-role messages, joined by blank lines; nil when empty.
    public var combinedSystem: String? {
        let parts = ([system].compactMap { $0 } + messages.filter { $0.role == .system }.map(\.content))
            .filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: "\n\n")
    }
}

/// Why generation stopped, normalised across backends. `other` keeps the raw wire value.
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    case endTurn
    case maxTokens
    case stopSequence(String?)
    case toolUse
    case contentFilter
    case other(String)

    public var description: String {
        switch self {
        case .endTurn: return "end_turn"
        case .maxTokens: return "max_tokens"
        case .stopSequence: return "stop_sequence"
        case .toolUse: return "tool_use"
        case .contentFilter: return "content_filter"
        case .other(let raw): return raw
        }
    }
}

/// Token counts as reported by the server (never estimated locally).
public struct TokenUsage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    /// Tokens spent on reasoning, when the server reports them separately (DeepSeek, OpenAI).
    public var reasoningTokens: Int?

    public init(inputTokens: Int = 0, outputTokens: Int = 0, reasoningTokens: Int? = nil) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.reasoningTokens = reasoningTokens
    }
}

/// A complete answer.
public struct ChatResponse: Sendable, Equatable {
    public var model: String
    public var text: String
    /// The reasoning trace (DeepSeek `reasoning_content`, Anthropic `thinking` blocks, Ollama
    /// `thinking`), nil when the model returned none.
    public var reasoning: String?
    public var stopReason: StopReason?
    public var usage: TokenUsage?
    /// Wall time from sending the request (first attempt) to the last byte of the answer.
    public var latency: Duration

    public init(
        model: String, text: String, reasoning: String? = nil, stopReason: StopReason? = nil,
        usage: TokenUsage? = nil, latency: Duration = .zero
    ) {
        self.model = model
        self.text = text
        self.reasoning = reasoning
        self.stopReason = stopReason
        self.usage = usage
        self.latency = latency
    }

    public var latencyMilliseconds: Int {
        let (seconds, attoseconds) = latency.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

/// One event of a streamed answer. The stream always ends with exactly one `.done` carrying
/// the assembled response (the concatenated deltas plus stop reason, usage and latency), or
/// finishes by throwing a `ProviderError`.
public enum ChatStreamEvent: Sendable, Equatable {
    case text(String)
    case reasoning(String)
    case done(ChatResponse)
}

/// One chat API over every backend. Implementations are cheap value-like handles over a shared
/// `HTTPTransport` (or, for the local engine, an in-process model), safe to use concurrently.
///
/// Why both methods are requirements: backends answer non-streamed requests with a different
/// wire shape (one JSON body) than streamed ones (SSE / NDJSON), and `complete` keeps the
/// simpler, cheaper path available. The local engine provider plugs in by conforming to this
/// protocol; nothing else in the module depends on HTTP.
public protocol ChatProvider: Sendable {
    /// Which backend this is, for display and error messages.
    var backend: BackendKind { get }
    func complete(_ request: ChatRequest) async throws -> ChatResponse
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error>
}

extension ChatProvider {
    /// Consumes `stream` and returns its final response; useful to exercise the streaming path.
    public func collect(_ request: ChatRequest) async throws -> ChatResponse {
        for try await event in stream(request) {
            if case .done(let response) = event { return response }
        }
        throw ProviderError.malformedResponse("stream ended without a final event")
    }
}

/// The backends rdic can talk to.
public enum BackendKind: String, Sendable, CaseIterable, Codable {
    case anthropic, deepseek, openai, ollama, local

    /// Human name used in messages.
    public var displayName: String {
        switch self {
        case .anthropic: return "Anthropic"
        case .deepseek: return "DeepSeek"
        case .openai: return "OpenAI-compatible"
        case .ollama: return "Ollama"
        case .local: return "local engine"
        }
    }
}
