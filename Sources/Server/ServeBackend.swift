import Agents
import Engine
import Foundation
import KVCache

/// The runtime `rdic serve` runs, built from its options.
public enum ServeBackend {
    public static func make(engine: Engine, contextLength: Int, kv: KVStorage, parallel: Int,
                            ramBudget: Int?, directory: URL?, queueLimit: Int = 64) throws -> AgentRuntime {
        var configuration = AgentRuntimeConfiguration()
        configuration.contextLength = contextLength
        configuration.kv = kv
        configuration.parallel = parallel
        configuration.ramBudget = ramBudget
        configuration.directory = directory
        configuration.queueLimit = queueLimit
        return try AgentRuntime(engine: engine, configuration: configuration)
    }
}
