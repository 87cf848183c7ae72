/// A policy name the CLI or a config file gave that does not exist.
public struct UnknownKVPolicy: Error, Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var description: String {
        "unknown KV policy '\(name)' (known: \(KVPolicies.names.joined(separator: ", ")), protect_last_turn:<policy>)"
    }
}

/// The built-in policies by name, as the issue and the CLI spell them.
public enum KVPolicies {
    public static let names = ["none", "streaming", "window", "random", "h2o", "snapkv"]

    /// `name` is one of `names` or `protect_last_turn:<name>` (the last `protectedTokens` tokens
    /// kept whole). `sinks` is StreamingLLM's sink count (`window` is streaming without sinks).
    public static func named(_ name: String, sinks: Int = 4, seed: UInt64 = 0, observationWindow: Int = 32,
                             protectedTokens: Int = 64) throws(UnknownKVPolicy) -> any KVCompressionPolicy {
        let prefix = "protect_last_turn:"
        if name.hasPrefix(prefix) {
            let base = try named(String(name.dropFirst(prefix.count)), sinks: sinks, seed: seed,
                                 observationWindow: observationWindow, protectedTokens: protectedTokens)
            return ProtectLastTurn(base, lastTokens: protectedTokens)
        }
        switch name {
        case "none": return NoCompression()
        case "streaming": return StreamingPolicy(sinks: sinks)
        case "window": return StreamingPolicy(sinks: 0)
        case "random": return RandomPolicy(seed: seed)
        case "h2o": return HeavyHitterPolicy()
        case "snapkv": return SnapKVPolicy(observationWindow: observationWindow)
        default: throw UnknownKVPolicy(name: name)
        }
    }
}
