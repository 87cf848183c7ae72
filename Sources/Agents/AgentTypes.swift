import Engine
import Foundation
import KVCache
import Models

/// How an `AgentRuntime` runs: its batch, its queue, and where agents' caches live.
public struct AgentRuntimeConfiguration: Sendable {
    /// Tokens per agent (capped at the model's context).
    public var contextLength = 4096
    public var kv: KVStorage = .f16
    /// Requests advanced together in one batched forward pass.
    public var parallel = 4
    /// Requests that may wait for a slot; past it `submit` throws `AgentError.busy`.
    public var queueLimit = 64
    /// Prompt tokens prefilled per scheduler step (shared by the requests prefilling then), so
    /// a long prompt delays the other agents' next tokens by one chunk, not by the whole prompt.
    public var prefillChunk = 256
    /// Bytes of KV cache kept in RAM; idle agents past it go to the disk tier (nil: no limit).
    public var ramBudget: Int?
    /// Bytes of saved agents on disk; the least recently used unpinned ones are deleted past it.
    public var diskBudget: Int?
    /// The disk tier and the persistence folder (nil: agents live in RAM only).
    public var directory: URL?
    /// Seconds an agent stays idle before its changed cache is written behind (its next turn
    /// often follows at once; a save then would compete with it for the cores).
    public var writeDelay: TimeInterval = 2
    /// Idle anonymous prefixes kept per tenant for reuse by requests without an agent id.
    public var anonymousPrefixes = 4

    public init() {}
}

/// One generation request for an agent.
public struct AgentRequest: Sendable {
    /// Opaque tenant id (a server derives it from the API key, never the key itself). Agents and
    /// cached prefixes of one tenant are never visible to another.
    public var tenant: String
    /// The agent whose cache continues; nil reuses only the tenant's shared prefixes.
    public var agent: String?
    /// The whole token sequence (chat template applied); the cached common prefix is reused.
    public var prompt: [Int32]
    public var options: GenerationOptions
    public var numerics: Numerics = .fast

    public init(tenant: String, agent: String?, prompt: [Int32], options: GenerationOptions) {
        self.tenant = tenant
        self.agent = agent
        self.prompt = prompt
        self.options = options
    }
}

/// Why the runtime refused or ended a request.
public enum AgentError: Error, Sendable, Equatable, CustomStringConvertible {
    case busy(queued: Int, limit: Int)
    case promptTooLong(tokens: Int, context: Int)
    case emptyPrompt
    case notFound(agent: String)
    case shuttingDown
    /// Agent ids become file names in the disk tier.
    case invalidAgentID(String)
    case saveFailed(agent: String)
    /// The disk tier's folder cannot be made or used.
    case unusableDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case .busy(let queued, let limit): "the server is busy: \(queued) requests are waiting (limit \(limit)); retry shortly"
        case .promptTooLong(let tokens, let context):
            "the prompt has \(tokens) tokens but the context holds \(context) (leave room for the answer)"
        case .emptyPrompt: "the prompt is empty"
        case .notFound(let agent): "no agent '\(agent)'"
        case .shuttingDown: "the runtime is shutting down"
        case .invalidAgentID(let id): "invalid agent id '\(id.prefix(80))': at most 256 bytes, no control characters"
        case .saveFailed(let agent): "agent '\(agent)' could not be written to the disk tier"
        case .unusableDirectory(let path, let reason): "cannot use \(path) for the agents' disk tier: \(reason)"
        }
    }
}

public enum AgentTier: String, Sendable, Codable { case ram, disk }

/// What `AgentRuntime.agents(tenant:)` reports of one agent.
public struct AgentInfo: Sendable, Codable, Equatable {
    public var id: String
    public var tokens: Int
    /// KV bytes: in RAM, the blocks it holds (shared prefix blocks included); on disk, the file.
    public var bytes: Int
    public var tier: AgentTier
    public var lastUsed: Date
    public var pinned: Bool
}

/// Counters of a runtime, for metrics.
public struct AgentRuntimeMetrics: Sendable {
    public var queued = 0
    public var running = 0
    /// Distinct KV block bytes in RAM (a block shared by several agents counted once).
    public var ramBytes = 0
    public var diskBytes = 0
    public var evictions = 0
    public var restores = 0
    public var agentsInRAM = 0
    public var agentsOnDisk = 0
}

/// Sizes as people write them: "2GiB", "512MiB", "1.5GB", "4096".
public enum ByteCount {
    public static func parse(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let kib = 1024.0, mib = kib * kib, gib = mib * kib
        let units: [(String, Double)] = [("KiB", kib), ("MiB", mib), ("GiB", gib), ("TiB", gib * kib),
                                         ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12),
                                         ("K", kib), ("M", mib), ("G", gib), ("B", 1)]
        for (suffix, factor) in units where t.uppercased().hasSuffix(suffix.uppercased()) {
            let number = t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let v = Double(number), v >= 0, v.isFinite else { return nil }
            return Int(v * factor)
        }
        guard let v = Int(t), v >= 0 else { return nil }
        return v
    }
}
