import Foundation
import NIOCore
import NIOPosix
@testable import Providers

/// A request as the fake server received it.
struct RecordedRequest: Sendable {
    var method: String
    var path: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    var bodyText: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}

/// What the fake server does for one request, step by step, on the raw socket.
enum FakeAction: Sendable {
    /// Write these exact bytes (and flush).
    case send([UInt8])
    /// Close the connection now.
    case close
    /// Close the connection after a pause, so the client has read what was sent before it sees
    /// the close (a client may drop body parts still buffered when the connection fails).
    case closeAfter(TimeAmount)
    /// Do nothing more: the connection stays open and silent (for timeouts).
    case stall
}

final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
    var current: Value { withLock { $0 } }
}

/// A scripted HTTP/1.1 server on 127.0.0.1 (ephemeral port) speaking raw bytes, so tests control
/// framing byte for byte: exact SSE text, chunk boundaries, a close mid-stream, or silence.
final class FakeServer: Sendable {
    typealias Handler = @Sendable (_ index: Int, _ request: RecordedRequest) -> [FakeAction]
    private let channel: Channel
    private let state: Locked<[RecordedRequest]>
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [RecordedRequest] { state.current }

    /// `handler` gets the 0-based request number and the request.
    init(handler: @escaping Handler) async throws {
        let state = Locked<[RecordedRequest]>([])
        self.state = state
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FakeConnectionHandler { request in
                        let index = state.withLock { requests in
                            requests.append(request)
                            return requests.count - 1
                        }
                        return handler(index, request)
                    })
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    /// Responds to the n-th request with `script[n]`; later requests get a 500 "unscripted".
    convenience init(script: [[FakeAction]]) async throws {
        try await self.init { index, _ in
            index < script.count ? script[index] : [.send(HTTPBytes.json(500, #"{"error":{"message":"unscripted request"}}"#))]
        }
    }

    func shutdown() async {
        try? await channel.close()
    }
}

/// Accumulates one connection's bytes into requests (headers + content-length body) and plays
/// the scripted actions. Several requests may arrive on one kept-alive connection.
private final class FakeConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var buffer: [UInt8] = []
    private var stalled = false
    private let respond: (RecordedRequest) -> [FakeAction]

    init(respond: @escaping (RecordedRequest) -> [FakeAction]) { self.respond = respond }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer += bytes.readBytes(length: bytes.readableBytes) ?? []
        while !stalled, let request = takeRequest() {
            for action in respond(request) {
                switch action {
                case .send(let bytes):
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
                case .close:
                    context.close(promise: nil)
                    return
                case .closeAfter(let pause):
                    let channel = context.channel
                    channel.eventLoop.scheduleTask(in: pause) { channel.close(promise: nil) }
                    stalled = true
                    return
                case .stall:
                    stalled = true
                    return
                }
            }
        }
    }

    private func takeRequest() -> RecordedRequest? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = buffer.firstRange(of: separator) else { return nil }
        let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = Int(headers.first { $0.name.lowercased() == "content-length" }?.value ?? "0") ?? 0
        guard buffer.count >= end.upperBound + length else { return nil }
        let body = Array(buffer[end.upperBound..<end.upperBound + length])
        buffer.removeFirst(end.upperBound + length)
        return RecordedRequest(method: String(requestLine.first ?? ""), path: requestLine.count > 1 ? String(requestLine[1]) : "",
                               headers: headers, body: body)
    }
}

/// Byte-exact HTTP/1.1 responses.
enum HTTPBytes {
    static func reason(_ status: Int) -> String {
        [200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
         500: "Internal Server Error", 503: "Service Unavailable", 529: "Overloaded"][status] ?? "Status"
    }

    /// A complete response with `content-length`.
    static func response(_ status: Int, body: String, contentType: String = "application/json",
                         headers: [(String, String)] = []) -> [UInt8] {
        let bodyBytes = Array(body.utf8)
        var text = "HTTP/1.1 \(status) \(reason(status))\r\ncontent-type: \(contentType)\r\ncontent-length: \(bodyBytes.count)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8) + bodyBytes
    }

    static func json(_ status: Int, _ body: String, headers: [(String, String)] = []) -> [UInt8] {
        response(status, body: body, headers: headers)
    }

    /// The head of a chunked response (for streams).
    static func chunkedHead(contentType: String = "text/event-stream", status: Int = 200) -> [UInt8] {
        Array("HTTP/1.1 \(status) \(reason(status))\r\ncontent-type: \(contentType)\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n".utf8)
    }

    static func chunk(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [13, 10]
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    /// A whole chunked stream: head, one chunk per piece, terminator.
    static func stream(_ pieces: [String], contentType: String = "text/event-stream") -> [FakeAction] {
        [.send(chunkedHead(contentType: contentType))] + pieces.map { .send(chunk($0)) } + [.send(lastChunk)]
    }

    /// Head and the first `count` pieces, then the connection is closed without the terminator.
    static func droppedStream(_ pieces: [String], after count: Int, contentType: String = "text/event-stream") -> [FakeAction] {
        [.send(chunkedHead(contentType: contentType))] + pieces.prefix(count).map { .send(chunk($0)) } + [.closeAfter(.milliseconds(300))]
    }
}

/// Records retry waits instead of sleeping, and log lines.
final class Recorder: Sendable {
    let sleeps = Locked<[Duration]>([])
    let logs = Locked<[String]>([])

    func transport(timeouts: Timeouts = Timeouts(connect: .seconds(2), firstByte: .seconds(120), total: .seconds(300)),
                   retries: Int = 2) -> HTTPTransport {
        HTTPTransport(timeouts: timeouts,
                      retryPolicy: RetryPolicy(maxRetries: retries, initialBackoff: .milliseconds(100), maxBackoff: .seconds(1)),
                      sleep: { [sleeps] duration in sleeps.withLock { $0.append(duration) } },
                      random: { 0.5 }, log: { [logs] line in logs.withLock { $0.append(line) } })
    }
}

/// Runs `body` with a server and a transport, shutting both down afterwards.
@discardableResult
func withServer<T>(
    _ server: FakeServer, recorder: Recorder = Recorder(), transport: HTTPTransport? = nil,
    _ body: (FakeServer, HTTPTransport) async throws -> T
) async throws -> T {
    let transport = transport ?? recorder.transport()
    do {
        let result = try await body(server, transport)
        try? await transport.shutdown()
        await server.shutdown()
        return result
    } catch {
        try? await transport.shutdown()
        await server.shutdown()
        throw error
    }
}

/// Collects a stream's events and its terminal error, if any.
func drain(_ stream: AsyncThrowingStream<ChatStreamEvent, Error>) async -> (events: [ChatStreamEvent], error: Error?) {
    var events: [ChatStreamEvent] = []
    do {
        for try await event in stream { events.append(event) }
        return (events, nil)
    } catch {
        return (events, error)
    }
}

extension Array where Element == ChatStreamEvent {
    var text: String { compactMap { if case .text(let t) = $0 { return t } else { return nil } }.joined() }
    var reasoning: String { compactMap { if case .reasoning(let t) = $0 { return t } else { return nil } }.joined() }
    var final: ChatResponse? { compactMap { if case .done(let r) = $0 { return r } else { return nil } }.first }
}
