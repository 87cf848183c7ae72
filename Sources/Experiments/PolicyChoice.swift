import KVCache

/// A cell's compression: a policy name as the config spells it and the keep ratio. After each
/// turn the cache is compressed to `keepRatio` of the conversation's tokens so far.
public struct PolicyChoice: Sendable, Equatable {
    public var name: String
    public var keepRatio: Double
    /// The policy itself; `protect_last_turn:<base>` is built per turn (its boundary moves).
    let base: any KVCompressionPolicy
    let protectsLastTurn: Bool

    public static func == (a: PolicyChoice, b: PolicyChoice) -> Bool { a.name == b.name && a.keepRatio == b.keepRatio }

    /// `seed` seeds the `random` policy.
    public init(name: String, keepRatio: Double, seed: Int) throws(UnknownKVPolicy) {
        self.name = name
        self.keepRatio = keepRatio
        let prefix = "protect_last_turn:"
        protectsLastTurn = name.hasPrefix(prefix)
        base = try KVPolicies.named(protectsLastTurn ? String(name.dropFirst(prefix.count)) : name,
                                    seed: UInt64(bitPattern: Int64(seed)))
    }

    public var isNone: Bool { base is NoCompression }

    /// The policy for a turn that started at cache index `lastTurnStart`.
    public func policy(lastTurnStart: Int) -> any KVCompressionPolicy {
        protectsLastTurn ? ProtectLastTurn(base, lastTurnStart: lastTurnStart) : base
    }

    /// What the cache may hold after a turn, given the conversation's length so far.
    public func budget(conversationTokens: Int) -> Int { Int((keepRatio * Double(conversationTokens)).rounded()) }
}
