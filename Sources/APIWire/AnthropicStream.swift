/// The `delta` of `content_block_delta` (`text_delta`, `thinking_delta`) and of `message_delta`
/// (stop reason and sequence).
public struct AnthropicDelta: Codable, Sendable, Equatable {
    public var type: String?
    public var text: String?
    public var thinking: String?
    public var stopReason: String?
    public var stopSequence: String?

    public init(type: String? = nil, text: String? = nil, stopReason: String? = nil, stopSequence: String? = nil) {
        self.type = type
        self.text = text
        self.stopReason = stopReason
        self.stopSequence = stopSequence
    }
}

/// One streamed event's data: the union of the fields the event types use, with `type` naming
/// it (and also the SSE `event:` line). Sequence: `message_start`, then per block
/// `content_block_start`, `content_block_delta`..., `content_block_stop`, then `message_delta`
/// and `message_stop`; `ping` anywhere; `error` ends a failed stream.
public struct AnthropicStreamEvent: Codable, Sendable, Equatable {
    public var type: String
    public var message: AnthropicMessagesResponse?
    public var index: Int?
    public var contentBlock: AnthropicContentBlock?
    public var delta: AnthropicDelta?
    public var usage: AnthropicUsage?
    public var error: AnthropicErrorInfo?

    public init(type: String) { self.type = type }

    public static func messageStart(_ message: AnthropicMessagesResponse) -> AnthropicStreamEvent {
        var event = AnthropicStreamEvent(type: "message_start")
        event.message = message
        return event
    }

    public static func contentBlockStart(index: Int, block: AnthropicContentBlock) -> AnthropicStreamEvent {
        var event = AnthropicStreamEvent(type: "content_block_start")
        event.index = index
        event.contentBlock = block
        return event
    }

    public static func textDelta(index: Int, text: String) -> AnthropicStreamEvent {
        var event = AnthropicStreamEvent(type: "content_block_delta")
        event.index = index
        event.delta = AnthropicDelta(type: "text_delta", text: text)
        return event
    }

    public static func contentBlockStop(index: Int) -> AnthropicStreamEvent {
        var event = AnthropicStreamEvent(type: "content_block_stop")
        event.index = index
        return event
    }

    public static func messageDelta(stopReason: String?, stopSequence: String?, usage: AnthropicUsage) -> AnthropicStreamEvent {
        var event = AnthropicStreamEvent(type: "message_delta")
        event.delta = AnthropicDelta(stopReason: stopReason, stopSequence: stopSequence)
        event.usage = usage
        return event
    }

    public static let messageStop = AnthropicStreamEvent(type: "message_stop")
    public static let ping = AnthropicStreamEvent(type: "ping")

    public static func error(_ info: AnthropicErrorInfo) -> AnthropicStreamEvent {
        var event = AnthropicStreamEvent(type: "error")
        event.error = info
        return event
    }

    /// The SSE frame: `event: TYPE` and the JSON data.
    public func frame() throws -> String { try SSE.frame(event: type, json: self) }
}
