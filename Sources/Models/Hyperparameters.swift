import GGUF

/// How RoPE pairs up the dimensions of a head: llama.cpp's NORM rotates adjacent pairs
/// (2i, 2i+1), used by Llama (whose converter permutes Q/K rows to fit); NEOX rotates
/// (i, i + n/2), used by Gemma.
public enum RopeStyle: Sendable, Equatable {
    case normal, neox
}

/// The feed-forward gate's activation.
public enum GateActivation: Sendable, Equatable {
    /// SwiGLU: silu(gate) * up.
    case silu
    /// GeGLU with the tanh approximation of GELU.
    case geluTanh
}

/// Every shape and constant of a decoder-only transformer, read from GGUF metadata by the
/// architecture's loader.
public struct Hyperparameters: Sendable, Equatable {
    public var architecture: String
    public var layerCount: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var keyLength: Int
    public var valueLength: Int
    public var vocabularySize: Int
    /// The longest context the model was trained for (`context_length`).
    public var contextLength: Int
    public var rmsEpsilon: Float
    public var ropeStyle: RopeStyle
    public var ropeDimensions: Int
    /// RoPE base and frequency scale of full-attention layers.
    public var ropeBase: Float
    public var ropeScale: Float
    /// RoPE base and frequency scale of sliding-window layers.
    public var slidingRopeBase: Float
    public var slidingRopeScale: Float
    /// Window of sliding-window layers (nil: every layer attends to the whole context).
    public var slidingWindow: Int?
    /// Which layers use the sliding window.
    public var slidingLayers: [Bool]
    /// Factor applied to queries after RoPE (Gemma's query pre-attention scale).
    public var queryScale: Float
    /// Factor applied to attention scores before the softmax.
    public var scoreScale: Float
    /// Factor applied to token embeddings (Gemma: sqrt(d_model)).
    public var embeddingScale: Float?
    public var activation: GateActivation
    /// tanh soft-capping of the final logits, when the model uses it.
    public var finalLogitSoftcap: Float?

    /// Whether layer `i` attends through a sliding window.
    public func isSliding(_ i: Int) -> Bool { slidingWindow != nil && slidingLayers[i] }

    /// The RoPE base and frequency scale of layer `i`.
    public func rope(layer i: Int) -> (base: Float, scale: Float) {
        isSliding(i) ? (slidingRopeBase, slidingRopeScale) : (ropeBase, ropeScale)
    }
}

/// Reads `<arch>.<key>` metadata with typed errors.
struct MetadataReader {
    let metadata: GGUFMetadata
    let arch: String

    func int(_ key: String) throws(ModelError) -> Int {
        guard let v = optionalInt(key) else { throw .missingMetadata("\(arch).\(key)") }
        return v
    }

    /// An integer, or the first of a per-layer array whose entries are all equal.
    func optionalInt(_ key: String) -> Int? {
        let full = "\(arch).\(key)"
        if let v = metadata.int(full) { return v }
        if let a = metadata.ints(full), let f = a.first, a.allSatisfy({ $0 == f }) { return f }
        return nil
    }

    func float(_ key: String) throws(ModelError) -> Float {
        guard let v = metadata.float("\(arch).\(key)") else { throw .missingMetadata("\(arch).\(key)") }
        return v
    }

    func optionalFloat(_ key: String) -> Float? { metadata.float("\(arch).\(key)") }
    func optionalString(_ key: String) -> String? { metadata.string("\(arch).\(key)") }

    /// Frequency scale as llama.cpp reads it: the factor from `rope.scaling.factor`, else the older
    /// `rope.scale_linear`; a file that gives a factor without a type means linear scaling
    /// (positions divided by the factor), and type `none` never scales.
    func ropeFrequencyScale() throws(ModelError) -> Float {
        let type = optionalString("rope.scaling.type") ?? "linear"
        let factor = optionalFloat("rope.scaling.factor") ?? optionalFloat("rope.scale_linear") ?? 0
        switch type {
        case "none": return 1
        case "linear": return factor > 0 ? 1 / factor : 1
        // Llama 3 scaling is carried by the `rope_freqs` tensor; the type is informational.
        case "llama3": return 1
        default: throw .invalidHyperparameter("RoPE scaling type '\(type)' is not supported")
        }
    }
}
