import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The OpenAI- and Anthropic-compatible HTTP server over a `CompletionBackend` (the agents
/// runtime): what `rdic serve` runs, embeddable from Swift.
///
/// ```swift
/// let server = try RDICServer(backend: runtime, configuration: ServerConfiguration(modelName: "smollm2-135m"))
/// try await server.run { url in print("ready: \(url)") }
/// ```
public final class RDICServer: Sendable {
    public let configuration: ServerConfiguration
    public let backend: any CompletionBackend
    let logger: Logger
    let metrics = ServerMetrics()
    private let running = RunningGroup()

    /// Throws `ServerError.openOnNetwork` for a non-loopback host without keys.
    public init(backend: any CompletionBackend, configuration: ServerConfiguration,
                logger: Logger = Logger(label: "rdic.serve")) throws {
        try configuration.validate()
        self.backend = backend
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT (or until the calling task is cancelled). On a signal it
    /// stops accepting connections, lets in-flight requests finish, then shuts the backend down
    /// (which flushes agent caches). `onReady` receives the base URL once the port is bound.
    public func run(onReady: @escaping @Sendable (String) async -> Void = { _ in }) async throws {
        let host = configuration.host
        let app = Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.port), serverName: "rdic"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                await onReady("http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
            },
            logger: logger)
        // Started in order, shut down in reverse: the HTTP server drains first, then the backend.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: BackendService(backend: backend)), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        running.set(group)
        try await group.run()
    }

    /// What SIGTERM does, from Swift: stop accepting, finish in-flight requests, shut the
    /// backend down; `run` then returns.
    public func stop() async {
        await running.group?.triggerGracefulShutdown()
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let context = RouteContext(
            configuration: configuration, keys: Set(configuration.apiKeys),
            builder: PromptBuilder(engine: backend.engine, contextLength: backend.contextLength),
            generator: Generator(backend: backend, metrics: metrics))
        let openAI = OpenAIRoutes(context: context)
        let anthropic = AnthropicRoutes(context: context)
        let admin = AdminRoutes(context: context, metrics: metrics)
        let router = Router()
        router.add(middleware: RequestAccounting(metrics: metrics, logger: logger))
        router.post("/v1/chat/completions") { request, _ in await Self.respond(.openAI) { () async throws(APIError) in try await openAI.chatCompletions(request) } }
        router.post("/v1/completions") { request, _ in await Self.respond(.openAI) { () async throws(APIError) in try await openAI.completions(request) } }
        router.post("/v1/messages") { request, _ in await Self.respond(.anthropic) { () async throws(APIError) in try await anthropic.messages(request) } }
        router.post("/v1/messages/count_tokens") { request, _ in
            await Self.respond(.anthropic) { () async throws(APIError) in try await anthropic.countTokens(request) }
        }
        router.get("/v1/models") { request, _ in
            await Self.respond(AdminRoutes.flavor(request)) { () throws(APIError) in try admin.models(request) }
        }
        router.get("/v1/models/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await Self.respond(AdminRoutes.flavor(request)) { () throws(APIError) in try admin.model(request, id: id) }
        }
        router.get("/v1/agents") { request, _ in await Self.respond(.openAI) { () throws(APIError) in try admin.agents(request) } }
        router.delete("/v1/agents/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await Self.respond(.openAI) { () throws(APIError) in try admin.deleteAgent(request, id: id) }
        }
        router.get("/health") { _, _ in await Self.respond(.openAI) { () throws(APIError) in try admin.health() } }
        router.get("/metrics") { _, _ in admin.prometheus() }
        return router
    }

    static func respond(_ flavor: APIFlavor, _ body: () async throws(APIError) -> Response) async -> Response {
        do { return try await body() } catch { return error.response(flavor) }
    }
}

/// The service group of the running server, for `stop()`.
final class RunningGroup: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ServiceGroup?
    func set(_ group: ServiceGroup) { lock.withLock { value = group } }
    var group: ServiceGroup? { lock.withLock { value } }
}

/// Keeps the backend up while the HTTP server runs; on shutdown (after the server drained)
/// shuts it down, which finishes queued work and flushes caches.
struct BackendService: Service {
    let backend: any CompletionBackend

    func run() async throws {
        try? await gracefulShutdown()
        await backend.shutdown()
    }
}
