/// How a conversation's turns are laid out in KV caches (the names).
public enum Condition: String, Sendable, CaseIterable, Codable {
    /// Every turn in one context, one shared cache.
    case sequential
    /// As `sequential`, with "IMPORTANT: keep the following topics separate: A and B." first.
    case prompted
    /// As `sequential`, each turn prefixed "[Turn N]".
    case turnBased = "turn_based"
    /// One cache per instruction cluster, forked from the shared system prefix.
    case semantic
    /// As `semantic`, but turns go to caches at random (seeded).
    case randomClusters = "random_clusters"
    /// One fresh agent per instruction cluster: nothing shared, not even the system prefix.
    case separateAgents = "separate_agents"

    /// Expressible in the text of the conversations alone, so any chat provider can run it.
    public var isTextLevel: Bool { self == .sequential || self == .prompted || self == .turnBased || self == .separateAgents }

    /// Each cluster gets its own cache (and its version is generated there).
    public var isPerCluster: Bool { self == .semantic || self == .randomClusters || self == .separateAgents }
}
