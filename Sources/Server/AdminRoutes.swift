import APIWire
import Foundation
import Hummingbird

/// `GET /v1/models`, `GET /v1/agents`, `DELETE /v1/agents/{id}`, `GET /health`, `GET /metrics`.
struct AdminRoutes: Sendable {
    let context: RouteContext
    let metrics: ServerMetrics
    let started = Int(Date().timeIntervalSince1970)

    /// One agent as listed: the caller's own agents only.
    struct AgentEntry: Codable, Sendable {
        var id: String
        var object = "agent"
        var tokens: Int
        var bytes: Int
        var tier: String
        /// Unix seconds, as OpenAI's `created` fields.
        var lastUsed: Int
        var pinned: Bool
    }

    struct AgentList: Codable, Sendable {
        var object = "list"
        var data: [AgentEntry]
    }

    struct Deleted: Codable, Sendable {
        var id: String
        var object = "agent"
        var deleted = true
    }

    struct Health: Codable, Sendable {
        var status = "ok"
        var model: String
    }

    /// Anthropic's clients send `anthropic-version`; they get Anthropic's list shape and errors.
    static func flavor(_ request: Request) -> APIFlavor {
        request.headers[Caller.anthropicVersionHeader] == nil ? .openAI : .anthropic
    }

    private var modelNames: [String] { [context.configuration.modelName] + context.configuration.modelAliases }

    func models(_ request: Request) throws(APIError) -> Response {
        _ = try context.authenticate(request)
        switch Self.flavor(request) {
        case .openAI:
            return try OpenAIRoutes.json(OpenAIModelList(data: modelNames.map { OpenAIModel(id: $0, created: started, ownedBy: "rdic") }))
        case .anthropic:
            return try OpenAIRoutes.json(AnthropicModelList(data: modelNames.map(anthropicModel)))
        }
    }

    /// `GET /v1/models/{id}`, in either API's shape; an unknown id is a 404.
    func model(_ request: Request, id: String) throws(APIError) -> Response {
        _ = try context.authenticate(request)
        guard modelNames.contains(id) else { throw APIError(.notFound, "model '\(id)' is not served here; GET /v1/models lists what is") }
        switch Self.flavor(request) {
        case .openAI: return try OpenAIRoutes.json(OpenAIModel(id: id, created: started, ownedBy: "rdic"))
        case .anthropic: return try OpenAIRoutes.json(anthropicModel(id))
        }
    }

    private func anthropicModel(_ id: String) -> AnthropicModel {
        AnthropicModel(id: id, displayName: id, createdAt: Date(timeIntervalSince1970: TimeInterval(started)).ISO8601Format())
    }

    func agents(_ request: Request) throws(APIError) -> Response {
        let caller = try context.authenticate(request)
        let entries = context.backend.agents(tenant: caller.tenant).map {
            AgentEntry(id: $0.id, tokens: $0.tokens, bytes: $0.bytes, tier: $0.tier.rawValue,
                       lastUsed: Int($0.lastUsed.timeIntervalSince1970), pinned: $0.pinned)
        }
        return try OpenAIRoutes.json(AgentList(data: entries))
    }

    func deleteAgent(_ request: Request, id: String) throws(APIError) -> Response {
        let caller = try context.authenticate(request)
        do {
            try context.backend.deleteAgent(tenant: caller.tenant, id: id)
        } catch {
            throw Generator.apiError(error)
        }
        return try OpenAIRoutes.json(Deleted(id: id))
    }

    func health() throws(APIError) -> Response {
        try OpenAIRoutes.json(Health(model: context.configuration.modelName))
    }

    func prometheus() -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render(context.backend.metrics))))
    }
}
