import Engine

/// Seeded choices over the engine's SplitMix64, whose sequence is fixed by the seed on every
/// platform and Swift version, so plans, splits and samples are reproducible (Swift's own
/// `shuffled()` and `randomElement()` make no such promise across versions).
extension SplitMix64 {
    /// Uniform in `0..<bound` by rejection (no modulo bias); the result depends only on the seed.
    public mutating func index(below bound: Int) -> Int {
        precondition(bound > 0)
        let limit = UInt64(bound)
        let threshold = (0 &- limit) % limit
        while true {
            let value = next()
            if value >= threshold { return Int(value % limit) }
        }
    }

    /// Fisher-Yates with `index(below:)`, so the permutation is fixed by the seed.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, index(below: i + 1))
        }
    }
}
