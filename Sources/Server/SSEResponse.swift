import Hummingbird
import NIOCore

/// Writes SSE frames to a response body. A failed write means the client went away: it surfaces
/// as `Disconnected`, which ends the handler, drops the generation stream and so cancels the
/// request, freeing its slot.
final class SSEWriter: @unchecked Sendable {
    struct Disconnected: Error {}
    private var writer: any ResponseBodyWriter

    init(_ writer: any ResponseBodyWriter) { self.writer = writer }

    func send(_ frame: String) async throws {
        do { try await writer.write(ByteBuffer(string: frame)) } catch { throw Disconnected() }
    }

    func finish() async throws { try await writer.finish(nil) }
}

enum SSEResponse {
    static func make(_ body: @escaping @Sendable (SSEWriter) async throws -> Void) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "keep-alive"],
            body: ResponseBody { writer in
                let sse = SSEWriter(writer)
                try await body(sse)
                try await sse.finish()
            })
    }
}
