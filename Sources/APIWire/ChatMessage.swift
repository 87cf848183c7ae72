/// Who said a message. A string-backed value rather than a closed enum: chat templates and wire
/// formats use free-form roles ("tool", "developer", Gemma's "model"), while code can still
/// write `.user` or compare against `.system`.
public struct ChatRole: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public init(from decoder: Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static let system: ChatRole = "system"
    public static let user: ChatRole = "user"
    public static let assistant: ChatRole = "assistant"
}

/// One turn of a conversation: the single message type shared by the chat templates, the
/// engine, the providers and the server.
public struct ChatMessage: Sendable, Hashable, Codable {
    public var role: ChatRole
    public var content: String

    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }

    /// Roles as plain strings, as chat-template fixtures and older call sites write them.
    public init(role: String, content: String) { self.init(role: ChatRole(role), content: content) }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: text) }
}
