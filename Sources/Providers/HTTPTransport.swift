import AsyncHTTPClient
import Foundation
import NIOCore

/// A sink for diagnostic lines (retries, backoff). Lines are already redacted.
public typealias LogSink = @Sendable (String) -> Void

/// Deadlines for one chat call.
public struct Timeouts: Sendable, Equatable {
    /// Establishing the connection.
    public var connect: Duration
    /// From sending the request to receiving the response head. Reasoning models may think for
    /// a while before answering a non-streamed request, hence the generous default.
    public var firstByte: Duration
    /// The whole call, retries and streamed body included.
    public var total: Duration

    public init(connect: Duration = .seconds(10), firstByte: Duration = .seconds(120),
                total: Duration = .seconds(600)) {
        self.connect = connect
        self.firstByte = firstByte
        self.total = total
    }
}

/// Exponential backoff with jitter, honouring `retry-after`.
///
/// Which failures are retried: 429, 5xx (including Anthropic's 529 "overloaded") and connection
/// failures before a response arrived. Never other 4xx (the request is wrong and would fail
/// again), never timeouts (the budget is already spent), never after a streamed body started
/// (deltas were already delivered, a retry would duplicate them).
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt (so `maxRetries + 1` attempts in all).
    public var maxRetries: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var multiplier: Double
    /// Fraction of the backoff removed at random (0 = none, 0.25 = up to a quarter shorter),
    /// so many clients rate-limited together do not retry in lockstep.
    public var jitter: Double
    /// `retry-after` values above this are not waited for; the computed backoff is used instead.
    public var maxRetryAfter: Duration

    public init(maxRetries: Int = 2, initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(8),
                multiplier: Double = 2, jitter: Double = 0.25, maxRetryAfter: Duration = .seconds(60)) {
        self.maxRetries = maxRetries
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    public static let none = RetryPolicy(maxRetries: 0)

    /// The wait before retry number `retry` (1-based). `random` is in [0, 1).
    public func delay(beforeRetry retry: Int, retryAfter: Duration?, random: Double) -> Duration {
        if let retryAfter, retryAfter >= .zero, retryAfter <= maxRetryAfter { return retryAfter }
        let base = initialBackoff * pow(multiplier, Double(max(0, retry - 1)))
        let capped = min(base, maxBackoff)
        return capped * (1 - jitter * min(max(random, 0), 1))
    }

    /// Parses `retry-after-ms` (OpenAI's millisecond form) or `retry-after` (seconds or an
    /// HTTP date) into a duration.
    public static func retryAfter(headers: [(name: String, value: String)], now: Date = Date()) -> Duration? {
        func value(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name }?.value.trimmingCharacters(in: .whitespaces)
        }
        if let ms = value("retry-after-ms"), let millis = Double(ms), millis >= 0 {
            return .milliseconds(Int64(millis))
        }
        guard let raw = value("retry-after") else { return nil }
        if let seconds = Double(raw), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: raw) {
            return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
        }
        return nil
    }
}

/// One POST request as a provider describes it. Headers may carry secrets; they are never
/// logged or put into errors.
struct HTTPCall: Sendable {
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]
}

/// HTTP plumbing shared by all remote backends: one `HTTPClient`, timeouts, retries, error
/// classification and redaction. Providers only know their wire formats.
public final class HTTPTransport: Sendable {
    public let timeouts: Timeouts
    public let retryPolicy: RetryPolicy
    let client: HTTPClient
    let sleep: @Sendable (Duration) async throws -> Void
    let random: @Sendable () -> Double
    let log: LogSink

    /// - Parameters:
    ///   - sleep: how retries wait; tests inject a recorder so retry delays take no time.
    ///   - random: jitter source in [0, 1).
    ///   - log: where retry notices go (nowhere by default).
    public init(timeouts: Timeouts = Timeouts(), retryPolicy: RetryPolicy = RetryPolicy(),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                log: @escaping LogSink = { _ in }) {
        self.timeouts = timeouts
        self.retryPolicy = retryPolicy
        self.sleep = sleep
        self.random = random
        self.log = log
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .nanoseconds(Self.nanoseconds(timeouts.connect)))
        // A redirect would carry the key to another host; gateways that need one are misconfigured.
        configuration.redirectConfiguration = .disallow
        // Our retry policy (with its backoff and log lines) handles failed connects; the pool's
        // own silent re-connecting would otherwise hold a refused request for the whole connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Must be called once the transport is no longer used.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Sends `call` (retrying as the policy allows), then hands the 2xx response to `handle`,
    /// which reads the body. The total timeout covers everything. Errors are typed and redacted.
    func perform<T: Sendable>(
        _ call: HTTPCall, redactor: Redactor,
        errorMessage: @escaping @Sendable ([UInt8]) -> String?,
        handle: @escaping @Sendable (HTTPClientResponse) async throws -> T
    ) async throws -> T {
        do {
            return try await withTimeout(timeouts.total, kind: .total) {
                let response = try await self.sendWithRetries(call, redactor: redactor, errorMessage: errorMessage)
                do {
                    return try await handle(response)
                } catch let error as ProviderError {
                    throw error
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    throw ProviderError.network("connection dropped mid-stream (\(Self.describe(error)))")
                }
            }
        } catch let error as ProviderError {
            throw redactor.redact(error)
        }
    }

    private func sendWithRetries(
        _ call: HTTPCall, redactor: Redactor, errorMessage: @escaping @Sendable ([UInt8]) -> String?
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: call.url)
        request.method = .POST
        for (name, value) in call.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(call.body)

        let prepared = request
        var retry = 0
        while true {
            let failure: ProviderError
            var retryAfter: Duration?
            do {
                let response = try await withTimeout(timeouts.firstByte, kind: .firstByte) {
                    try await self.client.execute(prepared, timeout: .nanoseconds(Self.nanoseconds(self.timeouts.total)))
                }
                if (200..<300).contains(Int(response.status.code)) { return response }
                let status = Int(response.status.code)
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
                let headers = response.headers.map { (name: $0.name, value: $0.value) }
                retryAfter = RetryPolicy.retryAfter(headers: headers)
                let message = errorMessage(body) ?? Self.fallbackMessage(reason: response.status.reasonPhrase, body: body)
                failure = (300..<400).contains(status)
                    ? .badRequest(status: status, message: "unexpected redirect")
                    : ProviderError.fromStatus(status, message: redactor.redact(message), retryAfter: retryAfter)
            } catch let error as ProviderError {
                throw error  // Our own first-byte timeout: not retried.
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if let timeout = Self.timeoutKind(of: error) { throw ProviderError.timeout(timeout) }
                if let error = error as? HTTPClientError, [.invalidURL, .emptyHost, .emptyScheme].contains(error) {
                    throw ProviderError.notConfigured(redactor.redact("invalid base URL for \(Self.endpoint(call.url))"))
                }
                failure = .network(redactor.redact(Self.describe(error)))
            }
            guard Self.isRetryable(failure), retry < retryPolicy.maxRetries else { throw failure }
            retry += 1
            let delay = retryPolicy.delay(beforeRetry: retry, retryAfter: retryAfter, random: random())
            log(redactor.redact("\(Self.endpoint(call.url)): \(failure.shortDescription); retry \(retry) of \(retryPolicy.maxRetries) in \(Self.format(delay))"))
            try await sleep(delay)
        }
    }

    static func isRetryable(_ error: ProviderError) -> Bool {
        switch error {
        case .rateLimited, .serverError, .network: return true
        default: return false
        }
    }

    /// Host and path only: a base URL may embed credentials (`https://user:pass@host`).
    static func endpoint(_ url: String) -> String {
        guard let components = URLComponents(string: url) else { return "request" }
        return "\(components.host ?? "")\(components.port.map { ":\($0)" } ?? "")\(components.path)"
    }

    static func fallbackMessage(reason: String, body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? reason : text
    }

    static func timeoutKind(of error: Error) -> TimeoutKind? {
        guard let error = error as? HTTPClientError else { return nil }
        switch error {
        case .connectTimeout, .tlsHandshakeTimeout: return .connect
        case .deadlineExceeded: return .total
        case .readTimeout: return .firstByte
        default: return nil
        }
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .remoteConnectionClosed: return "connection closed by the server"
            case .cancelled: return "request cancelled"
            default: return String(describing: error)
            }
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return String(describing: error)
    }

    static func format(_ duration: Duration) -> String {
        let (s, atto) = duration.components
        return String(format: "%.2f s", Double(s) + Double(atto) / 1e18)
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (s, atto) = duration.components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

/// Runs `operation`, failing with `ProviderError.timeout(kind)` if it has not finished within
/// `limit`. The operation is cancelled on timeout (AsyncHTTPClient then closes the connection).
func withTimeout<T: Sendable>(
    _ limit: Duration, kind: TimeoutKind, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw ProviderError.timeout(kind)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
