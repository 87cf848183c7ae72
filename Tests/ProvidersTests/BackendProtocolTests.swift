import Foundation
import Testing
@testable import Providers

/// The same scenarios against every backend's wire format on a local fake server.
@Suite("Every backend against a fake server")
struct BackendProtocolTests {
    static let key = "test-key-0123456789"

    func request(_ wire: BackendWire) -> ChatRequest {
        ChatRequest(model: wire.model, messages: [.user("Hello")], maxTokens: 64)
    }

    @Test("a normal answer", arguments: BackendWire.all)
    func normalAnswer(wire: BackendWire) async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(200, wire.okBody))]])
        try await withServer(server) { server, transport in
            let response = try await wire.make(transport, server, Self.key).complete(request(wire))
            #expect(response.text == wire.okText)
            #expect(response.stopReason == .endTurn)
            #expect(response.usage != nil)
            let received = try #require(server.requests.first)
            #expect(received.method == "POST")
            #expect(received.path == wire.path)
            #expect(received.header(wire.authHeader) == wire.authValue(Self.key))
            #expect(received.header("content-type") == "application/json")
            #expect(received.json["model"] as? String == wire.model)
        }
    }

    @Test("streaming", arguments: BackendWire.all)
    func streaming(wire: BackendWire) async throws {
        let server = try await FakeServer(script: [HTTPBytes.stream(wire.streamPieces, contentType: wire.streamContentType)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(wire.make(transport, server, Self.key).stream(request(wire)))
            #expect(error == nil)
            #expect(events.text == wire.streamText)
            let final = try #require(events.final)
            #expect(final.text == wire.streamText)
            #expect(final.stopReason == .endTurn)
            #expect(final.usage != nil && final.usage!.outputTokens > 0)
            #expect(events.count(where: { if case .done = $0 { true } else { false } }) == 1)
            // The streaming request says so on the wire.
            #expect(server.requests.first?.json["stream"] as? Bool == true)
        }
    }

    @Test("401 is an authentication error carrying the server's message, not retried", arguments: BackendWire.all)
    func unauthorized(wire: BackendWire) async throws {
        let body = wire.errorBody("authentication_error", "invalid x-api-key")
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(401, body))]])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            await #expect(throws: ProviderError.authentication(status: 401, message: "invalid x-api-key")) {
                try await wire.make(transport, server, Self.key).complete(request(wire))
            }
            #expect(server.requests.count == 1)
            #expect(recorder.sleeps.current.isEmpty)
        }
    }

    @Test("400 is a bad request with the server's own message, not retried", arguments: BackendWire.all)
    func badRequest(wire: BackendWire) async throws {
        let message = "max_tokens: 100000 > 64000, which is the maximum allowed"
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(400, wire.errorBody("invalid_request_error", message)))]])
        try await withServer(server) { server, transport in
            let (_, error) = await drain(wire.make(transport, server, Self.key).stream(request(wire)))
            #expect(error as? ProviderError == .badRequest(status: 400, message: message))
            #expect(server.requests.count == 1)
        }
    }

    @Test("429 with retry-after waits that long, then succeeds", arguments: BackendWire.all)
    func rateLimitedThenSuccess(wire: BackendWire) async throws {
        let limited = HTTPBytes.json(429, wire.errorBody("rate_limit_error", "Number of requests has exceeded your rate limit"),
                                     headers: [("retry-after", "3")])
        let server = try await FakeServer(script: [[.send(limited)], [.send(HTTPBytes.json(200, wire.okBody))]])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            let response = try await wire.make(transport, server, Self.key).complete(request(wire))
            #expect(response.text == wire.okText)
            #expect(server.requests.count == 2)
            #expect(recorder.sleeps.current == [.seconds(3)])
            #expect(recorder.logs.current.count == 1)
            #expect(recorder.logs.current.first?.contains("429") == true)
        }
    }

    @Test("500 then success, with exponential backoff and jitter", arguments: BackendWire.all)
    func serverErrorThenSuccess(wire: BackendWire) async throws {
        let failure = HTTPBytes.json(500, wire.errorBody("api_error", "Internal server error"))
        let server = try await FakeServer(script: [[.send(failure)], [.send(failure)],
                                                   HTTPBytes.stream(wire.streamPieces, contentType: wire.streamContentType)])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            let (events, error) = await drain(wire.make(transport, server, Self.key).stream(request(wire)))
            #expect(error == nil)
            #expect(events.text == wire.streamText)
            #expect(server.requests.count == 3)
            // initial 100 ms, doubled; jitter source fixed at 0.5 removes 12.5%.
            #expect(recorder.sleeps.current == [.microseconds(87_500), .microseconds(175_000)])
        }
    }

    @Test("5xx until retries run out is a server error", arguments: BackendWire.all)
    func retriesExhausted(wire: BackendWire) async throws {
        let failure = HTTPBytes.json(503, wire.errorBody("overloaded_error", "Overloaded"))
        let server = try await FakeServer(script: [[.send(failure)], [.send(failure)], [.send(failure)]])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            await #expect(throws: ProviderError.serverError(status: 503, message: "Overloaded")) {
                try await wire.make(transport, server, Self.key).complete(request(wire))
            }
            #expect(server.requests.count == 3)
            #expect(recorder.sleeps.current.count == 2)
        }
    }

    @Test("a connection closed before the answer is retried", arguments: BackendWire.all)
    func connectionClosedThenSuccess(wire: BackendWire) async throws {
        let server = try await FakeServer(script: [[.close], [.send(HTTPBytes.json(200, wire.okBody))]])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            let response = try await wire.make(transport, server, Self.key).complete(request(wire))
            #expect(response.text == wire.okText)
            #expect(server.requests.count == 2)
            #expect(recorder.sleeps.current.count == 1)
        }
    }

    @Test("a connection dropped mid-stream delivers the deltas so far, then a network error", arguments: BackendWire.all)
    func droppedMidStream(wire: BackendWire) async throws {
        // Keep the pieces up to and including the first text delta.
        let cut = wire.streamPieces.firstIndex { $0.contains("Hello") || $0.contains(#""content":"9.8""#) }! + 1
        let server = try await FakeServer(script: [HTTPBytes.droppedStream(wire.streamPieces, after: cut,
                                                                           contentType: wire.streamContentType)])
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            let (events, error) = await drain(wire.make(transport, server, Self.key).stream(request(wire)))
            guard case .network(let message)? = error as? ProviderError else {
                Issue.record("expected a network error, got \(String(describing: error))")
                return
            }
            #expect(message.contains("mid-stream"))
            #expect(!events.text.isEmpty)
            #expect(events.final == nil)
            // Deltas were delivered: a retry would duplicate them.
            #expect(server.requests.count == 1)
        }
    }

    @Test("a malformed body is a malformed-response error", arguments: BackendWire.all)
    func malformedBody(wire: BackendWire) async throws {
        let server = try await FakeServer(script: [
            [.send(HTTPBytes.response(200, body: "<html><body>Gateway says hi</body></html>", contentType: "text/html"))],
            HTTPBytes.stream(["data: {\"not\": \"closed\"\n\n", "{oops}\n\n"], contentType: wire.streamContentType),
        ])
        try await withServer(server) { server, transport in
            let provider = wire.make(transport, server, Self.key)
            await #expect {
                try await provider.complete(request(wire))
            } throws: { error in
                guard case .malformedResponse(let message) = error as? ProviderError else { return false }
                return message.contains("Gateway says hi")
            }
            let (_, error) = await drain(provider.stream(request(wire)))
            guard case .malformedResponse? = error as? ProviderError else {
                Issue.record("expected malformedResponse, got \(String(describing: error))")
                return
            }
        }
    }

    @Test("a server that never answers hits the first-byte timeout", arguments: BackendWire.all)
    func firstByteTimeout(wire: BackendWire) async throws {
        let server = try await FakeServer(script: [[.stall]])
        let recorder = Recorder()
        let transport = recorder.transport(timeouts: Timeouts(connect: .seconds(2), firstByte: .milliseconds(300), total: .seconds(600)))
        try await withServer(server, recorder: recorder, transport: transport) { server, transport in
            await #expect(throws: ProviderError.timeout(.firstByte)) {
                try await wire.make(transport, server, Self.key).complete(request(wire))
            }
            #expect(recorder.sleeps.current.isEmpty)  // Timeouts are not retried.
        }
    }

    @Test("a stream that stalls after its head hits the total timeout", arguments: BackendWire.all)
    func totalTimeoutMidStream(wire: BackendWire) async throws {
        let actions: [FakeAction] = [.send(HTTPBytes.chunkedHead(contentType: wire.streamContentType)),
                                     .send(HTTPBytes.chunk(wire.streamPieces[0])), .stall]
        let server = try await FakeServer(script: [actions])
        let recorder = Recorder()
        let transport = recorder.transport(timeouts: Timeouts(connect: .seconds(2), firstByte: .seconds(5), total: .milliseconds(500)))
        try await withServer(server, recorder: recorder, transport: transport) { server, transport in
            let (_, error) = await drain(wire.make(transport, server, Self.key).stream(request(wire)))
            #expect(error as? ProviderError == .timeout(.total))
        }
    }
}
