import Engine
import KVCache

/// Direct control of agents' caches between requests, for experiments that manipulate the cache
/// itself: creating an agent whose cache gathers attention statistics from its first token,
/// forking one agent into another copy-on-write, and compressing an idle agent's cache.
extension AgentRuntime {
    /// Creates agent `id` (replacing none: it must not exist) with an empty cache, or with a
    /// copy-on-write fork of agent `parent`'s cache and tokens. With `statistics`, the new cache
    /// gathers what that policy needs for every token run from now on.
    public func createAgent(tenant: String, id: String, forkingFrom parent: String? = nil,
                            gatheringFor statistics: (any KVCompressionPolicy)? = nil) throws {
        try withStoreLocked { store in
            try store.createAgent(tenant: tenant, id: id, parent: parent, statistics: statistics)
        }
    }

    /// Compresses idle agent `id`'s cache to at most `budget` tokens with `policy`; its token list
    /// keeps the kept tokens, so a next request whose prompt extends them appends after them at
    /// positions continuing the original sequence. Returns the kept tokens' former indices.
    @discardableResult
    public func compress(tenant: String, id: String, with policy: any KVCompressionPolicy, budget: Int) throws -> [Int] {
        try withStoreLocked { store in
            let entry = try store.idleEntry(tenant: tenant, id: id)
            guard let cache = entry.cache else { throw AgentError.notFound(agent: id) }
            let kept = cache.compress(with: policy, budget: budget)
            entry.tokens = kept.map { entry.tokens[$0] }
            entry.dirty = true
            entry.version += 1
            return kept
        }
    }

    /// Bytes of KV blocks the agents `ids` hold together, each block shared between them counted
    /// once (a fork's common prefix is stored once).
    public func distinctCacheBytes(tenant: String, ids: [String]) -> Int {
        withStoreLocked { store in
            SequenceKVCache.distinctBytes(ids.compactMap { store.agents[AgentStore.Key(tenant: tenant, id: $0)]?.cache })
        }
    }

    private func withStoreLocked<T>(_ body: (AgentStore) throws -> T) rethrows -> T {
        try scheduler.withStore(body)
    }
}

extension AgentStore {
    func createAgent(tenant: String, id: String, parent: String?, statistics: (any KVCompressionPolicy)?) throws {
        let key = Key(tenant: tenant, id: id)
        guard agents[key] == nil else { throw AgentCacheError.exists(agent: id) }
        let cache: SequenceKVCache
        var tokens: [Int32] = []
        if let parent {
            let source = try idleEntry(tenant: tenant, id: parent)
            if source.cache == nil { try restore(source) }
            guard let parentCache = source.cache else { throw AgentError.notFound(agent: parent) }
            cache = parentCache.fork()
            tokens = source.tokens
        } else {
            cache = engine.model.makeCache(contextLength: configuration.contextLength, storage: configuration.kv)
        }
        if let statistics { cache.attentionStatistics = AttentionStatistics.gathering(for: statistics) }
        let entry = AgentEntry(tenant: tenant, id: id, cache: cache, tokens: tokens)
        entry.dirty = true
        agents[key] = entry
        enforceRAMBudget()
    }

    /// The agent, which must exist and have no request running.
    func idleEntry(tenant: String, id: String) throws -> AgentEntry {
        guard let entry = agents[Key(tenant: tenant, id: id)] else { throw AgentError.notFound(agent: id) }
        guard !entry.busy else { throw AgentCacheError.busy(agent: id) }
        return entry
    }
}

/// Why a cache-control call was refused.
public enum AgentCacheError: Error, Sendable, Equatable, CustomStringConvertible {
    case exists(agent: String)
    /// A request is running on the agent; its cache changes only between requests.
    case busy(agent: String)

    public var description: String {
        switch self {
        case .exists(let agent): "agent '\(agent)' already exists"
        case .busy(let agent): "agent '\(agent)' has a request running"
        }
    }
}
