import Foundation

/// A loopback Anthropic Messages API (`POST /v1/messages`) that plays a model writing conflict
/// records: it reads the record id, conflict type and domain from the generator's prompt and
/// answers with a valid v2 record in a ```json fence, in the real response wire shape. Tests
/// choose which requests get malformed answers and can hold a request (to kill the client
/// mid-run).
public final class FakeConflictModel: @unchecked Sendable {
    public let server: LocalHTTPServer
    private let state: Locked

    /// - Parameters:
    ///   - malformed: 0-based request numbers answered with text that is not a record.
    ///   - hold: called before answering request n; may block (the server is sequential).
    public init(malformed: Set<Int> = [], hold: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        let state = Locked()
        server = try LocalHTTPServer { request in
            let json = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
            let index = state.append(json)
            hold(index)
            guard request.method == "POST", request.path == "/v1/messages", request.headers["x-api-key"] != nil,
                  request.headers["anthropic-version"] != nil else {
                return .init(status: 404, headers: [("Content-Type", "application/json")],
                             body: Array(#"{"type":"error","error":{"type":"not_found_error","message":"no such route"}}"#.utf8))
            }
            let prompt = ((json["messages"] as? [[String: Any]])?.first?["content"] as? String) ?? ""
            let text = malformed.contains(index)
                ? "Sure! Here is a record: {\"id\": \"conflict_001\", \"turns\": [ oops"
                : "```json\n" + Self.record(prompt: prompt) + "\n```"
            return .init(status: 200, headers: [("Content-Type", "application/json")], body: Self.messageBody(text))
        }
        self.state = state
    }

    /// The decoded JSON bodies of every request received, in order.
    public var requestBodies: [[String: Any]] { state.bodies }
    public var baseURL: String { server.baseURL }
    public func stop() { server.stop() }

    final class Locked: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [[String: Any]] = []
        func append(_ body: [String: Any]) -> Int { lock.withLock { items.append(body); return items.count - 1 } }
        var bodies: [[String: Any]] { lock.withLock { items } }
    }

    /// The record the fake model writes for a generator prompt.
    static func record(prompt: String) -> String {
        func field(_ name: String) -> String {
            guard let line = prompt.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return "" }
            return String(line.dropFirst(name.count).split(separator: " ").first ?? "")
        }
        let id = field("Write record "), type = field("conflict_type: "), domain = field("domain: ")
        let subtype = type.split(separator: "_", maxSplits: 1).last.map(String.init) ?? type
        let sides = subtype.components(separatedBy: "_vs_")
        let (a, b) = (sides.first ?? "first", sides.count > 1 ? sides[1] : "second")
        let task = "Write a short announcement for the \(domain.replacingOccurrences(of: "_", with: " ")) team."
        let record: [String: Any] = [
            "id": id, "conflict_type": type, "domain": domain, "purpose": "context_isolation_test",
            "turns": [
                ["turn_id": 1, "role": "user", "instruction": "Make it \(a.replacingOccurrences(of: "_", with: " ")).",
                 "content": "\(task) Make it \(a.replacingOccurrences(of: "_", with: " "))."],
                ["turn_id": 2, "role": "user", "instruction": "Now make it \(b.replacingOccurrences(of: "_", with: " ")) instead.",
                 "content": "\(task) Now make it \(b.replacingOccurrences(of: "_", with: " ")) instead."],
                ["turn_id": 3, "role": "user", "query": "Give me both versions.",
                 "expected_behavior": "One \(a) version and one \(b) version of the announcement.",
                 "rdic_value": "Separate caches keep the two versions apart."],
            ],
            "ground_truth_clusters": [a, b],
        ]
        let data = try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted])
        return String(decoding: data, as: UTF8.self)
    }

    /// A non-streamed Messages API response carrying `text`.
    static func messageBody(_ text: String) -> [UInt8] {
        let body: [String: Any] = [
            "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [["type": "text", "text": text]], "stop_reason": "end_turn", "stop_sequence": NSNull(),
            "usage": ["input_tokens": 400, "output_tokens": 300],
        ]
        return Array(try! JSONSerialization.data(withJSONObject: body))
    }
}
