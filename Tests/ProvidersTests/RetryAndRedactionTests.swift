import Foundation
import Testing
@testable import Providers

@Suite("Retry policy and redaction")
struct RetryAndRedactionTests {
    @Test("backoff doubles, is capped, and jitter only shortens it")
    func backoff() {
        let policy = RetryPolicy(maxRetries: 5, initialBackoff: .milliseconds(500), maxBackoff: .seconds(3), jitter: 0.25)
        #expect(policy.delay(beforeRetry: 1, retryAfter: nil, random: 0) == .milliseconds(500))
        #expect(policy.delay(beforeRetry: 2, retryAfter: nil, random: 0) == .seconds(1))
        #expect(policy.delay(beforeRetry: 3, retryAfter: nil, random: 0) == .seconds(2))
        #expect(policy.delay(beforeRetry: 4, retryAfter: nil, random: 0) == .seconds(3))
        #expect(policy.delay(beforeRetry: 2, retryAfter: nil, random: 1) == .milliseconds(750))
        // retry-after wins when reasonable, is ignored when absurd.
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(7), random: 0.3) == .seconds(7))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(3600), random: 0) == .milliseconds(500))
    }

    @Test("retry-after: seconds, fractional, milliseconds, HTTP date")
    func retryAfterParsing() throws {
        #expect(RetryPolicy.retryAfter(headers: [("Retry-After", "20")]) == .seconds(20))
        #expect(RetryPolicy.retryAfter(headers: [("retry-after", "1.5")]) == .milliseconds(1500))
        #expect(RetryPolicy.retryAfter(headers: [("retry-after-ms", "250"), ("retry-after", "1")]) == .milliseconds(250))
        let now = try #require(ISO8601DateFormatter().date(from: "2015-10-21T07:28:00Z"))
        #expect(RetryPolicy.retryAfter(headers: [("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT")], now: now) == .seconds(30))
        #expect(RetryPolicy.retryAfter(headers: [("retry-after", "soon")]) == nil)
        #expect(RetryPolicy.retryAfter(headers: []) == nil)
    }

    @Test("status codes map to typed errors")
    func statusMapping() {
        #expect(ProviderError.fromStatus(401, message: "m", retryAfter: nil) == .authentication(status: 401, message: "m"))
        #expect(ProviderError.fromStatus(403, message: "m", retryAfter: nil) == .authentication(status: 403, message: "m"))
        #expect(ProviderError.fromStatus(429, message: "m", retryAfter: .seconds(1)) == .rateLimited(message: "m", retryAfter: .seconds(1)))
        #expect(ProviderError.fromStatus(422, message: "m", retryAfter: nil) == .badRequest(status: 422, message: "m"))
        #expect(ProviderError.fromStatus(529, message: "m", retryAfter: nil) == .serverError(status: 529, message: "m"))
        #expect(ProviderError.authentication(status: 401, message: "invalid key").shortDescription == "401 invalid key")
    }

    @Test("the redactor masks every configured secret, longest first, and ignores tiny strings")
    func redactor() {
        let redactor = Redactor(secrets: ["sk-abc", "sk-abcdef-long", "x"])
        #expect(redactor.redact("keys sk-abcdef-long and sk-abc") == "keys [REDACTED] and [REDACTED]")
        #expect(redactor.redact("x marks") == "x marks")
        #expect(redactor.redact(ProviderError.badRequest(status: 400, message: "bad sk-abc")) == .badRequest(status: 400, message: "bad [REDACTED]"))
    }
}

@Suite("Transport failures without a server")
struct TransportFailureTests {
    @Test("connection refused is a network error, retried with backoff, then reported")
    func connectionRefused() async throws {
        // Learn a free port, then close the listener.
        let server = try await FakeServer(script: [])
        let url = server.baseURL
        await server.shutdown()
        let recorder = Recorder()
        let transport = recorder.transport()
        let provider = OpenAICompatibleProvider(transport: transport, baseURL: url + "/v1", apiKey: nil)
        await #expect {
            try await provider.complete(ChatRequest(model: "m", messages: [.user("Hi")]))
        } throws: { error in
            guard case .network(let message)? = error as? ProviderError else { return false }
            return message.contains("refused")
        }
        try await transport.shutdown()
        #expect(recorder.sleeps.current.count == 2)
        #expect(recorder.logs.current.allSatisfy { $0.contains("retry") })
    }

    @Test("an invalid base URL is a configuration error, not retried")
    func invalidURL() async throws {
        let recorder = Recorder()
        let transport = recorder.transport()
        await #expect(throws: ProviderError.self) {
            try await OllamaProvider(transport: transport, host: "http://").complete(ChatRequest(model: "m", messages: [.user("Hi")]))
        }
        try await transport.shutdown()
        #expect(recorder.sleeps.current.isEmpty)
    }
}
