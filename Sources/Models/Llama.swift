import GGUF

/// Llama (`general.architecture = llama`: Llama 2/3.x, SmolLM2, ...), following llama.cpp:
/// RMSNorm, Q/K/V projections, NORM-style RoPE (with Llama 3 frequency factors from the
/// `rope_freqs` tensor when present), grouped-query attention scaled by head_dim^-0.5,
/// output projection, residual, RMSNorm, SwiGLU feed-forward, residual.
enum Llama: Architecture {
    static let name = "llama"
    static func hyperparameters(_ file: GGUFFile) throws(ModelError) -> Hyperparameters {
        let m = MetadataReader(metadata: file.metadata, arch: "llama")
        let layers = try m.int("block_count")
        let d = try m.int("embedding_length")
        let heads = try m.int("attention.head_count")
        let keyLength = m.optionalInt("attention.key_length") ?? d / heads
        let vocab = m.optionalInt("vocab_size") ?? file.tensor(named: "token_embd.weight")?.rowCount ?? 0
        let scale = try m.ropeFrequencyScale()
        let base = m.optionalFloat("rope.freq_base") ?? 10_000
        return Hyperparameters(
            architecture: "llama", layerCount: layers, embeddingLength: d,
            feedForwardLength: try m.int("feed_forward_length"),
            headCount: heads, kvHeadCount: m.optionalInt("attention.head_count_kv") ?? heads,
            keyLength: keyLength, valueLength: m.optionalInt("attention.value_length") ?? keyLength,
            vocabularySize: vocab, contextLength: try m.int("context_length"),
            rmsEpsilon: try m.float("attention.layer_norm_rms_epsilon"),
            ropeStyle: .normal, ropeDimensions: m.optionalInt("rope.dimension_count") ?? keyLength,
            ropeBase: base, ropeScale: scale, slidingRopeBase: base, slidingRopeScale: scale,
            slidingWindow: nil, slidingLayers: Array(repeating: false, count: layers),
            queryScale: 1, scoreScale: 1 / Float(keyLength).squareRoot(), embeddingScale: nil,
            activation: .silu, finalLogitSoftcap: nil)
    }

    static func layerWeights(_ t: TensorLoader, _ h: Hyperparameters, layer i: Int) throws(ModelError) -> LayerWeights {
        try standardLayerWeights(t, h, layer: i)
    }

    static func tensors(of s: ModelShape, vocabulary: Int) -> [SyntheticTensor] {
        standardTensors(of: s, vocabulary: vocabulary)
    }
}
