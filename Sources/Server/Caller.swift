import Foundation
import HTTPTypes
import Hummingbird

/// Who is asking: the tenant (a hash of the API key) and, when the request names one, the agent
/// whose cache continues.
struct Caller: Sendable {
    var tenant: String

    static let agentHeader = HTTPField.Name("X-Agent-ID")!
    static let sessionHeader = HTTPField.Name("X-Session-ID")!
    static let apiKeyHeader = HTTPField.Name("x-api-key")!
    static let anthropicVersionHeader = HTTPField.Name("anthropic-version")!

    /// Checks the key: `Authorization: Bearer` (OpenAI) or `x-api-key` (Anthropic), accepted on
    /// every route. Without configured keys everyone is the one open tenant.
    static func authenticate(_ request: Request, keys: Set<String>) throws(APIError) -> Caller {
        guard !keys.isEmpty else { return Caller(tenant: TenantID.open) }
        var offered: [String] = []
        if let value = request.headers[.authorization] {
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            offered.append(trimmed.lowercased().hasPrefix("bearer ") ? String(trimmed.dropFirst(7)).trimmingCharacters(in: .whitespaces) : trimmed)
        }
        if let value = request.headers[apiKeyHeader] { offered.append(value.trimmingCharacters(in: .whitespaces)) }
        guard !offered.isEmpty else {
            throw APIError(.unauthorized, "missing API key: send 'Authorization: Bearer KEY' or 'x-api-key: KEY'")
        }
        guard let key = offered.first(where: { keys.contains($0) }) else {
            throw APIError(.unauthorized, "invalid API key")
        }
        return Caller(tenant: TenantID.of(apiKey: key))
    }

    /// `X-Agent-ID`, else `X-Session-ID`, else the body's own field (`prompt_cache_key`,
    /// `metadata.user_id`); nil: an anonymous request.
    static func agent(_ request: Request, bodyField: String?) throws(APIError) -> String? {
        let candidates = [request.headers[agentHeader], request.headers[sessionHeader], bodyField]
        guard let id = candidates.compactMap({ $0?.trimmingCharacters(in: .whitespaces) }).first(where: { !$0.isEmpty }) else {
            return nil
        }
        guard id.utf8.count <= 256 else { throw APIError.badRequest("agent id longer than 256 bytes") }
        return id
    }
}
