/// One dispatched Server-Sent Event.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field; "message" when the event had none, as the spec says.
    public var event: String
    /// All `data:` lines of the event joined with "\n".
    public var data: String
    public var id: String?

    public init(event: String = "message", data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// Incremental parser for `text/event-stream`, following the WHATWG HTML "event stream
/// interpretation" rules, because providers rely on the less common parts of them: DeepSeek
/// sends `: keep-alive` comment lines while a reasoning model thinks, a proxy may re-frame with
/// CRLF, and JSON may span several `data:` lines. Bytes may be split anywhere (even inside a
/// UTF-8 sequence or between CR and LF): lines are only decoded once complete.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var sawFirstLine = false
    private var eventType = ""
    private var dataLines: [String] = []
    private var hasData = false
    private var lastEventID: String?
    /// Number of comment lines seen (keep-alives); exposed for diagnostics and tests.
    public private(set) var commentCount = 0
    /// The last `retry:` value in milliseconds, if the server sent one.
    public private(set) var retryMilliseconds: Int?

    public init() {}

    /// Feeds raw bytes and returns the events completed by them, in order.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [SSEEvent] where Bytes.Element == UInt8 {
        var events: [SSEEvent] = []
        for byte in bytes {
            if lastWasCR {
                lastWasCR = false
                if byte == 0x0A { continue }  // CRLF: the CR already ended the line.
            }
            switch byte {
            case 0x0D:
                lastWasCR = true
                if let event = endLine() { events.append(event) }
            case 0x0A:
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// Feeds a string (tests and tools).
    public mutating func feed(_ text: String) -> [SSEEvent] { feed(Array(text.utf8)) }

    /// True when bytes of an unfinished event are pending: a stream that ends here was cut.
    /// (The spec discards such an event; callers use this to tell truncation from a clean end.)
    public var hasPartialEvent: Bool { !line.isEmpty || hasData || !eventType.isEmpty }

    /// Call at end of stream. Per spec an event without its closing blank line is discarded;
    /// this is lenient instead and returns it when its last line was complete, because some
    /// servers close right after `data: [DONE]\n`. A cut-off line is still dropped (nil).
    public mutating func finish() -> SSEEvent? {
        guard line.isEmpty, hasData else { return nil }
        return dispatch()
    }

    private mutating func endLine() -> SSEEvent? {
        var bytes = line
        line.removeAll(keepingCapacity: true)
        if !sawFirstLine {
            sawFirstLine = true
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // UTF-8 BOM
        }
        if bytes.isEmpty { return dispatch() }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix(":") {
            commentCount += 1
            return nil
        }
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = text[...]
            value = ""
        }
        switch field {
        case "event": eventType = String(value)
        case "data":
            dataLines.append(String(value))
            hasData = true
        case "id" where !value.contains("\0"): lastEventID = String(value)
        case "retry":
            if !value.isEmpty, value.allSatisfy(\.isASCIIDigit) { retryMilliseconds = Int(value) }
        default: break  // Unknown fields are ignored, per spec.
        }
        return nil
    }

    private mutating func dispatch() -> SSEEvent? {
        defer {
            eventType = ""
            dataLines.removeAll()
            hasData = false
        }
        guard hasData else { return nil }
        return SSEEvent(event: eventType.isEmpty ? "message" : eventType,
                        data: dataLines.joined(separator: "\n"), id: lastEventID)
    }
}

/// Splits a byte stream into newline-delimited lines (Ollama's `application/x-ndjson`).
/// A trailing CR is dropped; empty lines are skipped.
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [String] where Bytes.Element == UInt8 {
        var lines: [String] = []
        for byte in bytes {
            if byte == 0x0A {
                if pending.last == 0x0D { pending.removeLast() }
                if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self)) }
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
            }
        }
        return lines
    }

    /// The unterminated last line, if any (a server may omit the final newline).
    public mutating func finish() -> String? {
        defer { pending.removeAll() }
        if pending.last == 0x0D { pending.removeLast() }
        return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
