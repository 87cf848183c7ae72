import Hummingbird
import Logging

/// Counts every request by fixed endpoint name and status, and logs one line per request
/// without keys, agent ids or bodies.
struct RequestAccounting<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let endpoint = Self.endpoint(request)
        let start = ContinuousClock.now
        let status: Int
        do {
            let response = try await next(request, context)
            status = response.status.code
            finish(endpoint, status, start)
            return response
        } catch {
            status = (error as? any HTTPResponseError)?.status.code ?? 500
            finish(endpoint, status, start)
            throw error
        }
    }

    private func finish(_ endpoint: String, _ status: Int, _ start: ContinuousClock.Instant) {
        metrics.countRequest(endpoint: endpoint, status: status)
        let elapsed = ContinuousClock.now - start
        logger.info("request", metadata: ["endpoint": "\(endpoint)", "status": "\(status)",
                                          "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)"])
    }

    /// A fixed label per route (an agent id in a path never reaches a label).
    static func endpoint(_ request: Request) -> String {
        let path = request.uri.path
        switch (request.method, path) {
        case (.post, "/v1/chat/completions"): return "chat_completions"
        case (.post, "/v1/completions"): return "completions"
        case (.post, "/v1/messages"): return "messages"
        case (.post, "/v1/messages/count_tokens"): return "count_tokens"
        case (.get, "/v1/models"): return "models"
        case (.get, "/v1/agents"): return "agents_list"
        case (.get, "/health"): return "health"
        case (.get, "/metrics"): return "metrics"
        case (.delete, _) where path.hasPrefix("/v1/agents/"): return "agents_delete"
        default: return "other"
        }
    }
}
