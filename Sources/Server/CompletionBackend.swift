import Agents
import Engine

/// What the HTTP layer needs from the runtime under it: `AgentRuntime`'s requests, agent
/// listing and metrics. The seam lets embedders put another scheduler behind the same HTTP API.
public protocol CompletionBackend: Sendable {
    /// The loaded model: its tokenizer and chat template turn requests into prompts.
    var engine: Engine { get }
    /// Tokens one agent's cache holds (prompt plus answer must fit).
    var contextLength: Int { get }
    /// Starts a request; throws `AgentError` before any work. The stream yields tokens then
    /// `.finished`; dropping it (or cancelling its consumer) cancels the request.
    func submit(_ request: AgentRequest) throws -> AsyncThrowingStream<GenerationEvent, Error>
    func agents(tenant: String) -> [AgentInfo]
    func deleteAgent(tenant: String, id: String) throws
    var metrics: AgentRuntimeMetrics { get }
    /// Stops accepting, lets in-flight requests finish, flushes caches.
    func shutdown() async
}

extension AgentRuntime: CompletionBackend {
    public var contextLength: Int { configuration.contextLength }
}
