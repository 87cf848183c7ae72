import GGUF
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
    public func kvBytesPerLayerToken(_ type: GGMLType = .f16) -> Int {
        let h = hyperparameters
        let k = type.byteCount(elements: h.keyLength) ?? h.keyLength * 4
        let v = type.byteCount(elements: h.valueLength) ?? h.valueLength * 4
        return h.kvHeadCount * (k + v)
    }

    /// Bytes per token across all layers, when every layer keeps the whole context.
    public func kvBytesPerToken(_ type: GGMLType = .f16) -> Int {
        hyperparameters.layerCount * kvBytesPerLayerToken(type)
    }

    /// KV-cache bytes for `context` tokens. Sliding-window aware: sliding layers keep only
    /// their window, which is what rdic stores; otherwise every layer keeps every token.
    public func kvBytes(context: Int, type: GGMLType = .f16, slidingAware: Bool) -> Int {
        let h = hyperparameters
        var tokenLayers = 0
        for layer in 0..<h.layerCount {
            if slidingAware, h.isSliding(layer), let window = h.slidingWindow {
                tokenLayers += min(context, window)
            } else {
                tokenLayers += context
            }
        }
        return tokenLayers * kvBytesPerLayerToken(type)
    }

    public var slidingLayerIndices: [Int] { (0..<hyperparameters.layerCount).filter { hyperparameters.isSliding($0) } }
    public var globalLayerIndices: [Int] { (0..<hyperparameters.layerCount).filter { !hyperparameters.isSliding($0) } }
}
