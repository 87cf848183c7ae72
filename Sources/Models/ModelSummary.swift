import GGUF
import KVCache
import TensorFormats

extension Hyperparameters {
    /// Reads the hyper-parameters of any supported architecture from metadata alone; no tensor
    /// data is touched, so this works on header-only files and huge models alike.
    public static func read(from file: GGUFFile) throws(ModelError) -> Hyperparameters {
        try Architectures.of(file).hyperparameters(file)
    }
}

/// What a user needs to know to decide whether a model fits: its shape, its tensors, and
/// what its KV cache costs per token and at long contexts.
public struct ModelSummary: Sendable {
    public let hyperparameters: Hyperparameters
    public let parameterCount: Int
    /// Tensor count per type, most frequent first.
    public let tensorTypes: [(type: GGMLType, count: Int)]
    public let vocabularySize: Int

    public init(file: GGUFFile) throws(ModelError) {
        hyperparameters = try Hyperparameters.read(from: file)
        parameterCount = file.tensors.reduce(0) { $0 + $1.elementCount }
        var counts: [GGMLType: Int] = [:]
        for t in file.tensors { counts[t.type, default: 0] += 1 }
        tensorTypes = counts.map { ($0.key, $0.value) }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.type.rawValue < $1.type.rawValue }
        vocabularySize = file.metadata.strings("tokenizer.ggml.tokens")?.count
            ?? file.metadata.int(arch: "vocab_size") ?? hyperparameters.vocabularySize
    }

    /// Bytes of keys and values one token takes in one layer, stored as `type`.
    public func kvBytesPerLayerToken(_ type: KVElementType = .f16) -> Int {
        kvBytesPerLayerToken(KVTypeCost(type))
    }

    public func kvBytesPerLayerToken(_ cost: KVTypeCost) -> Int {
        layerBytes(tokens: 1, cost)
    }

    /// Bytes per token across all layers, when every layer keeps the whole context.
    public func kvBytesPerToken(_ type: KVElementType = .f16) -> Int {
        hyperparameters.layerCount * kvBytesPerLayerToken(type)
    }

    /// KV-cache bytes for `context` tokens. Sliding-window aware: sliding layers keep only
    /// their window, which is what rdic stores; otherwise every layer keeps every token.
    public func kvBytes(context: Int, type: KVElementType = .f16, slidingAware: Bool) -> Int {
        kvBytes(context: context, cost: KVTypeCost(type), slidingAware: slidingAware)
    }

    /// `kvBytes` for any cache type's cost rule.
    public func kvBytes(context: Int, cost: KVTypeCost, slidingAware: Bool) -> Int {
        let h = hyperparameters
        var total = 0
        for layer in 0..<h.layerCount {
            let kept = slidingAware && h.isSliding(layer) ? min(context, h.slidingWindow ?? context) : context
            total += layerBytes(tokens: kept, cost)
        }
        return total
    }

    /// The KV memory table at `contexts` for `types` (every cache element type by default).
    public func kvMemoryTable(contexts: [Int] = [32_768, 131_072],
                              types: [KVTypeCost] = KVTypeCost.allElementTypes) -> KVMemoryTable {
        KVMemoryTable(summary: self, contexts: contexts, types: types)
    }

    private func layerBytes(tokens: Int, _ cost: KVTypeCost) -> Int {
        let h = hyperparameters
        return h.kvHeadCount * (cost.keyBytes(tokens, h.keyLength) + cost.valueBytes(tokens, h.valueLength))
    }

    public var slidingLayerIndices: [Int] { (0..<hyperparameters.layerCount).filter { hyperparameters.isSliding($0) } }
    public var globalLayerIndices: [Int] { (0..<hyperparameters.layerCount).filter { !hyperparameters.isSliding($0) } }
}
