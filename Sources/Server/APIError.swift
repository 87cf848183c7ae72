import Agents
import APIWire
import Foundation
import HTTPTypes
import Hummingbird

/// Which API's conventions a route follows: error shapes, auth header named in messages.
enum APIFlavor: Sendable {
    case openAI, anthropic
}

/// A refused request, rendered in the caller's API shape with the right status.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var message: String
    var retryAfterSeconds: Int?

    init(_ status: HTTPResponse.Status, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// The runtime's refusals, with the numbers the client needs.
    init(_ error: AgentError, retryAfterSeconds: Int = 1) {
        switch error {
        case .busy(let queued, let limit):
            self.init(.tooManyRequests, "server busy: \(queued) requests queued (limit \(limit)); retry later",
                      retryAfterSeconds: retryAfterSeconds)
        case .promptTooLong(let tokens, let context):
            self.init(.badRequest, "prompt is \(tokens) tokens, longer than the context of \(context) tokens"
                      + " (prompt plus answer must fit)")
        case .emptyPrompt:
            self.init(.badRequest, "the prompt is empty")
        case .notFound(let agent):
            self.init(.notFound, "no agent '\(agent)' for this API key")
        case .shuttingDown:
            self.init(.serviceUnavailable, "server is shutting down")
        case .invalidAgentID:
            self.init(.badRequest, "invalid agent id: at most 256 bytes, no control characters")
        case .saveFailed, .unusableDirectory:
            self.init(.internalServerError, "the agent's cache could not be written to the disk tier")
        }
    }

    /// OpenAI's `type` for a status.
    var openAIType: String {
        switch status.code {
        case 401: "authentication_error"
        case 404: "not_found_error"
        case 413: "invalid_request_error"
        case 429: "rate_limit_error"
        case 400..<500: "invalid_request_error"
        default: "server_error"
        }
    }

    var openAICode: String? {
        switch status.code {
        case 401: "invalid_api_key"
        case 404: "not_found"
        case 413: "request_too_large"
        case 429: "rate_limit_exceeded"
        case 503: "service_unavailable"
        default: nil
        }
    }

    /// Anthropic's `error.type` for a status (their documented list).
    var anthropicType: String {
        switch status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503, 529: "overloaded_error"
        case 400..<500: "invalid_request_error"
        default: "api_error"
        }
    }

    func body(_ flavor: APIFlavor) -> Data {
        let encoded: Data?
        switch flavor {
        case .openAI:
            encoded = try? WireCoding.encode(OpenAIErrorBody(OpenAIErrorInfo(message: message, type: openAIType, code: openAICode)))
        case .anthropic:
            encoded = try? WireCoding.encode(AnthropicErrorBody(AnthropicErrorInfo(type: anthropicType, message: message)))
        }
        return encoded ?? Data(#"{"error":{"message":"error"}}"#.utf8)
    }

    func response(_ flavor: APIFlavor) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body(flavor))))
    }
}

extension Response {
    /// A JSON response of a wire type.
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: try WireCoding.encode(value))))
    }
}
