import GGUF

/// Gemma 3 (`general.architecture = gemma3`), following llama.cpp's graph:
/// embeddings scaled by sqrt(d_model); per layer RMSNorm, Q/K/V projections, RMSNorm on each
/// query and key head, NEOX RoPE, queries scaled by `key_length^-0.5`, grouped-query attention
/// (every `sliding_window_pattern`-th layer global, the rest over a sliding window with RoPE
/// base 10 000), output projection, post-attention norm, residual, then RMSNorm, GELU(tanh)
/// gated feed-forward, post-feed-forward norm, residual. Output tied to the embeddings when
/// the file has no `output.weight`.
enum Gemma3 {
    /// llama.cpp's default when the file does not say: layers 5, 11, 17, ... are global.
    static let defaultSlidingPattern = 6
    static let slidingRopeBase: Float = 10_000

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

        // llama.cpp: the 27B model scales queries by (d_model / heads)^-0.5, the others by
        // key_length^-0.5 (Gemma's query_pre_attn_scalar).
        let queryScale = layers == 62
            ? 1 / Float(d / heads).squareRoot()
            : 1 / Float(keyLength).squareRoot()

        return Hyperparameters(
            architecture: "gemma3", layerCount: layers, embeddingLength: d,
            feedForwardLength: try m.int("feed_forward_length"),
            headCount: heads, kvHeadCount: m.optionalInt("attention.head_count_kv") ?? heads,
            keyLength: keyLength, valueLength: m.optionalInt("attention.value_length") ?? keyLength,
            vocabularySize: vocab, contextLength: try m.int("context_length"),
            rmsEpsilon: try m.float("attention.layer_norm_rms_epsilon"),
            ropeStyle: .neox, ropeDimensions: m.optionalInt("rope.dimension_count") ?? keyLength,
            ropeBase: m.optionalFloat("rope.freq_base") ?? 1_000_000, ropeScale: try m.ropeFrequencyScale(),
            slidingRopeBase: slidingRopeBase, slidingRopeScale: 1,
            slidingWindow: window, slidingLayers: sliding,
            queryScale: queryScale, scoreScale: 1, embeddingScale: Float(d).squareRoot(),
            activation: .geluTanh, hasQKNorm: true, hasPostNorms: true,
            // llama.cpp soft-caps only in its non-sliding variant; Gemma 3 files have windows.
            finalLogitSoftcap: window == nil ? m.optionalFloat("final_logit_softcapping") : nil)
    }

    static func layerWeights(_ t: TensorLoader, _ h: Hyperparameters, layer i: Int) throws(ModelError) -> LayerWeights {
        let p = "blk.\(i)."
        let d = h.embeddingLength
        return LayerWeights(
            attentionNorm: try t.vector(p + "attn_norm.weight", count: d),
            wq: try t.matrix(p + "attn_q.weight", cols: d, rows: h.headCount * h.keyLength),
            wk: try t.matrix(p + "attn_k.weight", cols: d, rows: h.kvHeadCount * h.keyLength),
            wv: try t.matrix(p + "attn_v.weight", cols: d, rows: h.kvHeadCount * h.valueLength),
            wo: try t.matrix(p + "attn_output.weight", cols: h.headCount * h.valueLength, rows: d),
            queryNorm: try t.vector(p + "attn_q_norm.weight", count: h.keyLength),
            keyNorm: try t.vector(p + "attn_k_norm.weight", count: h.keyLength),
            postAttentionNorm: try t.vector(p + "post_attention_norm.weight", count: d),
            ffnNorm: try t.vector(p + "ffn_norm.weight", count: d),
            gate: try t.matrix(p + "ffn_gate.weight", cols: d, rows: h.feedForwardLength),
            up: try t.matrix(p + "ffn_up.weight", cols: d, rows: h.feedForwardLength),
            down: try t.matrix(p + "ffn_down.weight", cols: h.feedForwardLength, rows: d),
            postFFNNorm: try t.vector(p + "post_ffw_norm.weight", count: d))
    }
}
