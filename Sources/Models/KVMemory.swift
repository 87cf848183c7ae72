import Foundation
import KVCache

/// What one KV-cache type costs in bytes, as its storage lays rows out (block scales included).
///
/// A provider rather than a fixed bytes-per-element figure, so that a type whose cost is not
/// linear in tokens (per-channel groups spanning tokens, a full-precision window of recent
/// tokens) plugs in with its own rule.
public struct KVTypeCost: Sendable {
    public let name: String
    /// Bytes `tokens` stored rows of one KV head's `length` keys take.
    public let keyBytes: @Sendable (_ tokens: Int, _ length: Int) -> Int
    /// Bytes `tokens` stored rows of one KV head's `length` values take.
    public let valueBytes: @Sendable (_ tokens: Int, _ length: Int) -> Int

    public init(name: String, keyBytes: @escaping @Sendable (Int, Int) -> Int,
                valueBytes: @escaping @Sendable (Int, Int) -> Int) {
        self.name = name
        self.keyBytes = keyBytes
        self.valueBytes = valueBytes
    }

    /// Keys and values stored as the cache stores `storage` (row sizes from `KVElementType`).
    public init(_ storage: KVStorage) {
        let k = storage.key, v = storage.value
        self.init(name: k == v ? k.rawValue : "k=\(k.rawValue) v=\(v.rawValue)",
                  keyBytes: { tokens, length in tokens * k.keyRowBytes(length) },
                  valueBytes: { tokens, length in tokens * v.valueRowBytes(length) })
    }

    public init(_ type: KVElementType) { self.init(KVStorage(type)) }

    /// Every element type the cache stores, in declaration order.
    public static var allElementTypes: [KVTypeCost] { KVElementType.allCases.map(KVTypeCost.init) }
}

/// KV-cache bytes of one model at several context lengths, for several cache types: what
/// `rdic model info` prints.
public struct KVMemoryTable: Sendable {
    public struct Row: Sendable {
        public let type: String
        /// Stored bits per key/value element, scales included (from a 32K-token, whole-context cache).
        public let bitsPerElement: Double
        /// Bytes per context: sliding layers keep only their window (what rdic stores).
        public let windowed: [Int]
        /// Bytes per context when every layer keeps the whole context.
        public let full: [Int]
    }

    public let contexts: [Int]
    public let rows: [Row]
    /// Sliding-window layers and all layers (the share the window saves on).
    public let slidingLayers: Int
    public let layers: Int
    public let window: Int?
    /// The context the model was trained for.
    public let modelContext: Int

    public init(summary: ModelSummary, contexts: [Int] = [32_768, 131_072],
                types: [KVTypeCost] = KVTypeCost.allElementTypes) {
        self.contexts = contexts
        rows = types.map { cost in
            let h = summary.hyperparameters
            let sample = 32_768
            let elements = h.layerCount * sample * h.kvHeadCount * (h.keyLength + h.valueLength)
            let bits = Double(summary.kvBytes(context: sample, cost: cost, slidingAware: false) * 8) / Double(elements)
            return Row(type: cost.name, bitsPerElement: bits,
                       windowed: contexts.map { summary.kvBytes(context: $0, cost: cost, slidingAware: true) },
                       full: contexts.map { summary.kvBytes(context: $0, cost: cost, slidingAware: false) })
        }
        slidingLayers = summary.slidingLayerIndices.count
        layers = summary.hyperparameters.layerCount
        window = summary.hyperparameters.slidingWindow
        modelContext = summary.hyperparameters.contextLength
    }

    /// The table as aligned text lines, one per type.
    public var lines: [String] {
        let sliding = window != nil && slidingLayers > 0
        var header = ["type", "bits/elem"]
        for c in contexts {
            let label = "\(c / 1024)K" + (c > modelContext ? " (beyond trained context)" : "")
            header.append(sliding ? "\(label) window-aware" : label)
            if sliding { header.append("\(c / 1024)K all layers full") }
        }
        var table = [header]
        for r in rows {
            var cells = [r.type, String(format: "%.2f", r.bitsPerElement)]
            for i in contexts.indices {
                cells.append(formatBinaryBytes(r.windowed[i]))
                if sliding { cells.append(formatBinaryBytes(r.full[i])) }
            }
            table.append(cells)
        }
        let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
        return table.map { cells in
            cells.enumerated().map { c, s in s.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}

/// `bytes` in binary units with one decimal: "384.0 KiB", "2.3 GiB" (plain bytes below 1 KiB).
public func formatBinaryBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
