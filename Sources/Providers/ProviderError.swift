import Foundation

/// Which deadline expired.
public enum TimeoutKind: String, Sendable, Equatable {
    /// Establishing the TCP (and TLS) connection.
    case connect
    /// Waiting for the response head after the request was sent.
    case firstByte = "first byte"
    /// The whole exchange, including reading a streamed body.
    case total
}

/// Typed failures of a chat call. Every message that came from a server has already passed
/// through `Redactor`, so printing an error can never reveal an API key, even when a proxy or
/// server echoes the key back in its error body.
public enum ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 401/403: missing, invalid or unauthorised key.
    case authentication(status: Int, message: String)
    /// 429 after retries were exhausted. `retryAfter` is the server's last hint, if any.
    case rateLimited(message: String, retryAfter: Duration?)
    /// Any other 4xx: the request itself is wrong; `message` is the server's own explanation.
    case badRequest(status: Int, message: String)
    /// 5xx (or Anthropic's 529 / a mid-stream `error` event) after retries were exhausted.
    case serverError(status: Int, message: String)
    /// Connection refused/reset, DNS failure, or a connection dropped mid-stream.
    case network(String)
    case timeout(TimeoutKind)
    /// The server answered 2xx but the body does not follow the documented protocol.
    case malformedResponse(String)
    /// The backend cannot be used as configured (missing key, unknown alias, no engine...).
    case notConfigured(String)

    public var description: String {
        switch self {
        case .authentication(let status, let message):
            return "authentication failed (HTTP \(status)): \(message)"
        case .rateLimited(let message, let retryAfter):
            let hint = retryAfter.map { " (retry after \(Self.seconds($0)) s)" } ?? ""
            return "rate limited (HTTP 429)\(hint): \(message)"
        case .badRequest(let status, let message):
            return "bad request (HTTP \(status)): \(message)"
        case .serverError(let status, let message):
            return "server error (HTTP \(status)): \(message)"
        case .network(let message):
            return "network error: \(message)"
        case .timeout(let kind):
            return "timed out (\(kind.rawValue))"
        case .malformedResponse(let message):
            return "malformed response: \(message)"
        case .notConfigured(let message):
            return "not configured: \(message)"
        }
    }

    /// A terse form for one-line reports such as `rdic check`: `401 invalid key`.
    public var shortDescription: String {
        switch self {
        case .authentication(let status, let message), .badRequest(let status, let message),
             .serverError(let status, let message):
            return "\(status) \(message)"
        case .rateLimited(let message, _):
            return "429 \(message)"
        case .network(let message):
            return "network: \(message)"
        case .timeout(let kind):
            return "timeout (\(kind.rawValue))"
        case .malformedResponse(let message):
            return "malformed response: \(message)"
        case .notConfigured(let message):
            return message
        }
    }

    /// The HTTP status behind the error, if it came from one.
    public var httpStatus: Int? {
        switch self {
        case .authentication(let status, _), .badRequest(let status, _), .serverError(let status, _):
            return status
        case .rateLimited: return 429
        default: return nil
        }
    }

    /// Maps a non-2xx status and the server's (already redacted) message to a typed error.
    static func fromStatus(_ status: Int, message: String, retryAfter: Duration?) -> ProviderError {
        switch status {
        case 401, 403: return .authentication(status: status, message: message)
        case 429: return .rateLimited(message: message, retryAfter: retryAfter)
        case 400..<500: return .badRequest(status: status, message: message)
        default: return .serverError(status: status, message: message)
        }
    }

    private static func seconds(_ duration: Duration) -> String {
        let (s, atto) = duration.components
        let value = Double(s) + Double(atto) / 1e18
        return value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

/// Removes secrets from any text that may be shown to a user or logged.
///
/// Why a separate type: the key must not leak through *any* path (server echoes, URLs with
/// embedded credentials, log lines), so every provider funnels text through one redactor that
/// knows all configured keys instead of trusting each call site to be careful.
public struct Redactor: Sendable {
    public static let mask = "[REDACTED]"
    private let secrets: [String]

    /// Secrets shorter than 6 characters are ignored: masking them would mangle ordinary text,
    /// and no real API key is that short.
    public init(secrets: [String]) {
        self.secrets = Array(Set(secrets.filter { $0.count >= 6 })).sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        return result
    }

    public func redact(_ error: ProviderError) -> ProviderError {
        switch error {
        case .authentication(let status, let message):
            return .authentication(status: status, message: redact(message))
        case .rateLimited(let message, let retryAfter):
            return .rateLimited(message: redact(message), retryAfter: retryAfter)
        case .badRequest(let status, let message):
            return .badRequest(status: status, message: redact(message))
        case .serverError(let status, let message):
            return .serverError(status: status, message: redact(message))
        case .network(let message): return .network(redact(message))
        case .malformedResponse(let message): return .malformedResponse(redact(message))
        case .notConfigured(let message): return .notConfigured(redact(message))
        case .timeout: return error
        }
    }
}
