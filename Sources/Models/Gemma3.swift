import GGUF

/// Gemma 3 (`general.architecture = gemma3`), following llama.cpp's graph:
/// embeddings scaled by sqrt(d_model); per layer RMSNorm, Q/K/V projections, RMSNorm on each
/// query and key head, NEOX RoPE, queries scaled by `query_pre_attn_scalar^-0.5`, grouped-query
/// attention (every `sliding_window_pattern`-th layer global, the rest over a sliding window with
/// RoPE base `rope.freq_base_swa`, default 10 000, unscaled), output projection, post-attention
/// norm, residual, then RMSNorm, GELU(tanh) gated feed-forward, post-feed-forward norm, residual. Output tied to the embeddings when
/// the file has no `output.weight`.
enum Gemma3: Architecture {
    static let name = "gemma3"
    /// llama.cpp's default when the file does not say: layers 5, 11, 17, ... are global.
    static let defaultSlidingPattern = 6
    /// llama.cpp's sliding-layer RoPE base when the file has no `rope.freq_base_swa`.
    static let defaultSlidingRopeBase: Float = 10_000
    /// The one released shape whose `query_pre_attn_scalar` is not its head size: 27B, with
    /// d_model 5376 over 32 heads of 128 (gemma_pytorch's config: scalar = 5376 / 32 = 168).
    /// llama.cpp tells it by layer count alone; matching the whole shape cannot mistake another
    /// 62-layer model for it.
    static let shapeOf27B = (layers: 62, embeddingLength: 5376, heads: 32, keyLength: 128)

    static func hyperparameters(_ file: GGUFFile) throws(ModelError) -> Hyperparameters {
        let m = MetadataReader(metadata: file.metadata, arch: "gemma3")
        let layers = try m.int("block_count")
        let d = try m.int("embedding_length")
        let heads = try m.int("attention.head_count")
        let keyLength = m.optionalInt("attention.key_length") ?? d / heads
        let vocab = file.tensor(named: "token_embd.weight")?.rowCount ?? 0

        // The pattern may be given as a period or as a per-layer list of booleans.
        var sliding: [Bool]
        if let flags = file.metadata["gemma3.attention.sliding_window_pattern"]?.array?.compactMap(\.bool),
           flags.count == layers {
            sliding = flags
        } else {
            let period = m.optionalInt("attention.sliding_window_pattern") ?? defaultSlidingPattern
            sliding = (0..<layers).map { period == 0 || $0 % period < period - 1 }
        }
        let window = m.optionalInt("attention.sliding_window")
        if window == nil { sliding = Array(repeating: false, count: layers) }

        let queryScale = Self.queryScale(layers: layers, embeddingLength: d, heads: heads, keyLength: keyLength)

        return Hyperparameters(
            architecture: "gemma3", layerCount: layers, embeddingLength: d,
            feedForwardLength: try m.int("feed_forward_length"),
            headCount: heads, kvHeadCount: m.optionalInt("attention.head_count_kv") ?? heads,
            keyLength: keyLength, valueLength: m.optionalInt("attention.value_length") ?? keyLength,
            vocabularySize: vocab, contextLength: try m.int("context_length"),
            rmsEpsilon: try m.float("attention.layer_norm_rms_epsilon"),
            ropeStyle: .neox, ropeDimensions: m.optionalInt("rope.dimension_count") ?? keyLength,
            ropeBase: m.optionalFloat("rope.freq_base") ?? 1_000_000, ropeScale: try m.ropeFrequencyScale(),
            slidingRopeBase: m.optionalFloat("rope.freq_base_swa") ?? defaultSlidingRopeBase, slidingRopeScale: 1,
            slidingWindow: window, slidingLayers: sliding,
            queryScale: queryScale, scoreScale: 1, embeddingScale: Float(d).squareRoot(),
            activation: .geluTanh,
            // llama.cpp soft-caps only in its non-sliding variant; Gemma 3 files have windows.
            finalLogitSoftcap: window == nil ? m.optionalFloat("final_logit_softcapping") : nil)
    }

    /// Gemma's `query_pre_attn_scalar`^-0.5. No GGUF key carries that scalar, so this follows
    /// llama.cpp (after gemma_pytorch's configs): d_model / heads for the 27B model, whose head
    /// size (128) is not its scalar (168), and the head size for every other size.
    static func queryScale(layers: Int, embeddingLength: Int, heads: Int, keyLength: Int) -> Float {
        let is27B = (layers, embeddingLength, heads, keyLength) == shapeOf27B
        let scalar = is27B ? embeddingLength / heads : keyLength
        return 1 / Float(scalar).squareRoot()
    }

    static func layerWeights(_ t: TensorLoader, _ h: Hyperparameters, layer i: Int) throws(ModelError) -> LayerWeights {
        let p = "blk.\(i)."
        var w = try standardLayerWeights(t, h, layer: i)
        w.queryNorm = try t.vector(p + "attn_q_norm.weight", count: h.keyLength)
        w.keyNorm = try t.vector(p + "attn_k_norm.weight", count: h.keyLength)
        w.postAttentionNorm = try t.vector(p + "post_attention_norm.weight", count: h.embeddingLength)
        w.postFFNNorm = try t.vector(p + "post_ffw_norm.weight", count: h.embeddingLength)
        return w
    }

    static func tensors(of s: ModelShape, vocabulary: Int) -> [SyntheticTensor] {
        standardTensors(of: s, vocabulary: vocabulary, extraNorms: [
            ("attn_q_norm.weight", s.headSize), ("attn_k_norm.weight", s.headSize),
            ("post_attention_norm.weight", s.embeddingLength), ("post_ffw_norm.weight", s.embeddingLength),
        ])
    }
}
