import Foundation

/// Makes an in-process provider for the local rdic engine. The engine module registers one of
/// these once it can generate; until then the `local` backend reports itself unavailable.
/// Kept as a closure so Providers needs no knowledge of how models are found or loaded.
public typealias LocalProviderMaker = @Sendable (_ model: String) throws -> any ChatProvider

/// What the local engine can run without a download, told by whoever knows where models live
/// (the CLI passes the model store's answers). Lets `rdic check` test the default model and
/// lets aliases of the local model of record use a GGUF that is already on disk.
public struct LocalModels: Sendable {
    /// The model used when none is named.
    public var defaultModel: String?
    /// A local model (name or path) that can answer for the alias, or nil.
    public var match: @Sendable (ModelAlias) -> String?

    public init(defaultModel: String?, match: @escaping @Sendable (ModelAlias) -> String? = { _ in nil }) {
        self.defaultModel = defaultModel
        self.match = match
    }
}

/// Turns aliases into ready providers over one shared transport.
public final class ProviderFactory: Sendable {
    public let config: ProviderConfig
    public let transport: HTTPTransport
    let localMaker: LocalProviderMaker?
    let localModels: LocalModels?
    /// Knows every configured key; apply it to anything shown to a user.
    public let redactor: Redactor

    /// - Parameters:
    ///   - transport: defaults to one built from the config's timeouts and retry policy.
    ///   - local: the engine's provider maker, when the engine is available.
    ///   - localModels: which models the engine can run without a download.
    public init(config: ProviderConfig, transport: HTTPTransport? = nil, log: @escaping LogSink = { _ in },
                local: LocalProviderMaker? = nil, localModels: LocalModels? = nil) {
        self.config = config
        self.redactor = Redactor(secrets: config.secrets)
        let redactor = self.redactor
        self.transport = transport ?? HTTPTransport(timeouts: config.timeouts, retryPolicy: config.retry,
                                                    log: { log(redactor.redact($0)) })
        self.localMaker = local
        self.localModels = localModels
    }

    /// Nil when `backend` can be used, else why not (e.g. "ANTHROPIC_API_KEY not set").
    public func unavailableReason(_ backend: BackendKind) -> String? {
        if backend == .local { return localMaker == nil ? "local engine not available in this build" : nil }
        return config.endpoint(backend)?.unconfiguredReason
    }

    public func resolve(_ name: String) throws -> ModelAlias {
        route(try ModelAliases.resolve(name, in: config.aliases))
    }

    /// The alias itself, or the local engine on a file already here when the alias is a
    /// built-in one for the local model of record (`gemma-3-12b`); a user's own alias is kept.
    public func route(_ alias: ModelAlias) -> ModelAlias {
        guard localMaker != nil, ModelAliases.localFirst.contains(alias.name), ModelAliases.builtin.contains(alias),
              let local = localModels?.match(alias) else { return alias }
        return ModelAlias(name: alias.name, backend: .local, model: local)
    }

    /// What `rdic check` checks by default: every alias, plus the local default model when the
    /// engine is here and no alias already has its name.
    public var checkTargets: [ModelAlias] {
        guard localMaker != nil, let name = localModels?.defaultModel,
              !config.aliases.contains(where: { $0.name == name }) else { return config.aliases }
        return config.aliases + [ModelAlias(name: name, backend: .local, model: name)]
    }

    /// The provider serving `alias`; throws `ProviderError.notConfigured` with the reason.
    public func provider(for alias: ModelAlias) throws -> any ChatProvider {
        let alias = route(alias)
        if let reason = unavailableReason(alias.backend) { throw ProviderError.notConfigured(reason) }
        switch alias.backend {
        case .anthropic:
            return AnthropicProvider(transport: transport, apiKey: config.anthropic.apiKey ?? "",
                                     baseURL: config.anthropic.baseURL, version: config.anthropicVersion)
        case .deepseek:
            return OpenAICompatibleProvider.deepSeek(transport: transport, apiKey: config.deepseek.apiKey ?? "",
                                                     baseURL: config.deepseek.baseURL)
        case .openai:
            return OpenAICompatibleProvider(transport: transport, baseURL: config.openai.baseURL, apiKey: config.openai.apiKey)
        case .ollama:
            return OllamaProvider(transport: transport, host: config.ollama.baseURL, apiKey: config.ollama.apiKey)
        case .local:
            guard let localMaker else { throw ProviderError.notConfigured("local engine not available in this build") }
            return try localMaker(alias.model)
        }
    }

    /// The provider for an alias (or `backend:model`), bound to that model: requests whose
    /// `model` is empty are sent with the alias's model id. The simplest entry point for
    /// research code:
    ///
    /// ```swift
    /// let factory = ProviderFactory(config: try ProviderConfig.load(path: nil))
    /// let judge = try factory.provider(named: "claude-sonnet-4.5")
    /// let answer = try await judge.complete(ChatRequest(messages: [.user("Score this: ...")], maxTokens: 200))
    /// ```
    public func provider(named name: String) throws -> any ChatProvider {
        let alias = try resolve(name)
        return BoundProvider(base: try provider(for: alias), model: alias.model)
    }

    /// Call once when done (closes the HTTP connection pool).
    public func shutdown() async {
        try? await transport.shutdown()
    }
}

/// A provider with a default model, so callers can name models by alias only.
struct BoundProvider: ChatProvider {
    let base: any ChatProvider
    let model: String

    var backend: BackendKind { base.backend }

    private func bind(_ request: ChatRequest) -> ChatRequest {
        var bound = request
        if bound.model.isEmpty { bound.model = model }
        return bound
    }

    func complete(_ request: ChatRequest) async throws -> ChatResponse { try await base.complete(bind(request)) }
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error> { base.stream(bind(request)) }
}
