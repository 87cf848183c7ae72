/// What the `q4` cache type stores: the row formats of keys and values, how many of the first
/// tokens are kept exactly (f16) beside their 4-bit rows, and whether keys are balanced against
/// the queries channel by channel (see `KVRowOffsets.keyScales`).
public struct Q4Layout: Sendable, Hashable, CustomStringConvertible {
    public var keys: Q4Rows
    public var values: Q4Rows
    /// Tokens `0..<exactTokens` (the attention sinks) also kept as f16 rows, which attention uses.
    public var exactTokens: Int
    /// Exponents (a, b) of the key balance `D = K^a / Q^b` (K, Q: mean squares of a channel's
    /// centered keys and its queries); nil: keys are not balanced.
    public var balance: (Float, Float)? {
        get { balanceExponents.map { ($0[0], $0[1]) } }
        set { balanceExponents = newValue.map { [$0.0, $0.1] } }
    }
    var balanceExponents: [Float]?
    /// Keys of a layer whose RoPE the cache knows are centered per this many positions
    /// (`KeyCentring`); nil, or a layer without RoPE: one offset for every key.
    public var keySpan: Int?

    public init(keys: Q4Rows, values: Q4Rows, exactTokens: Int, balance: (Float, Float)?, keySpan: Int? = nil) {
        self.keys = keys
        self.values = values
        self.exactTokens = exactTokens
        self.balanceExponents = balance.map { [$0.0, $0.1] }
        self.keySpan = keySpan
    }

    /// The layout as session files record it, e.g. `keys g32 gaussian, values g64 uniform, exact 4, balance 0.25/0.25, keys centred per 32 positions`.
    public var description: String {
        func rows(_ r: Q4Rows) -> String { "g\(r.groupSize) \(r.levels == .gaussian ? "gaussian" : r.levels == .uniform ? "uniform" : "custom")" }
        let b = balance.map { "balance \($0.0)/\($0.1)" } ?? "no balance"
        let c = keySpan.map { ", keys centred per \($0) positions" } ?? ""
        return "keys \(rows(keys)), values \(rows(values)), exact \(exactTokens), \(b)\(c)"
    }

    /// The layout `--kv-type q4` uses. Measured on GPL-3 (README): balancing keys, keeping the
    /// first token exact and centering keys per 16 positions pay; Lloyd-Max levels and
    /// 32-element key groups did not.
    public static let current = Q4Layout(keys: Q4Rows(groupSize: 64, levels: .uniform),
                                         values: Q4Rows(groupSize: 64, levels: .uniform),
                                         exactTokens: 1, balance: (0.25, 0.25), keySpan: 16)
}
