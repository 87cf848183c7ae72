import GGUF

/// One supported architecture: how its hyper-parameters and layer weights are read from a GGUF
/// file. A new architecture is one file with a type conforming to this, added to
/// `Architectures.registered`; nothing else switches on architecture names.
protocol Architecture {
    /// `general.architecture` of its files.
    static var name: String { get }
    static func hyperparameters(_ file: GGUFFile) throws(ModelError) -> Hyperparameters
    static func layerWeights(_ t: TensorLoader, _ h: Hyperparameters, layer i: Int) throws(ModelError) -> LayerWeights
    /// Every tensor a file of `shape` holds, in llama.cpp's order (for synthetic files).
    static func tensors(of shape: ModelShape, vocabulary: Int) -> [SyntheticTensor]
}

extension Architecture {
    /// The layer weights Llama and Gemma 3 share: the attention and gated feed-forward matrices
    /// with their input norms (an architecture sets its own extra norms on the result).
    static func standardLayerWeights(_ t: TensorLoader, _ h: Hyperparameters, layer i: Int) throws(ModelError) -> LayerWeights {
        let p = "blk.\(i)."
        let d = h.embeddingLength
        return LayerWeights(
            attentionNorm: try t.vector(p + "attn_norm.weight", count: d),
            wq: try t.matrix(p + "attn_q.weight", cols: d, rows: h.headCount * h.keyLength),
            wk: try t.matrix(p + "attn_k.weight", cols: d, rows: h.kvHeadCount * h.keyLength),
            wv: try t.matrix(p + "attn_v.weight", cols: d, rows: h.kvHeadCount * h.valueLength),
            wo: try t.matrix(p + "attn_output.weight", cols: h.headCount * h.valueLength, rows: d),
            queryNorm: nil, keyNorm: nil, postAttentionNorm: nil,
            ffnNorm: try t.vector(p + "ffn_norm.weight", count: d),
            gate: try t.matrix(p + "ffn_gate.weight", cols: d, rows: h.feedForwardLength),
            up: try t.matrix(p + "ffn_up.weight", cols: d, rows: h.feedForwardLength),
            down: try t.matrix(p + "ffn_down.weight", cols: h.feedForwardLength, rows: d),
            postFFNNorm: nil)
    }

    /// The tensors Llama and Gemma 3 share: embeddings, per layer the attention and gated
    /// feed-forward matrices with their norms (`extraNorms` adds an architecture's own), and
    /// the output norm.
    static func standardTensors(of s: ModelShape, vocabulary: Int, extraNorms: [(String, Int)] = []) -> [SyntheticTensor] {
        let d = s.embeddingLength
        var out = [SyntheticTensor(name: "token_embd.weight", shape: [d, vocabulary], role: .embeddings, layer: nil)]
        for i in 0..<s.layers {
            let p = "blk.\(i)."
            func matrix(_ name: String, _ cols: Int, _ rows: Int, _ role: SyntheticTensorRole) -> SyntheticTensor {
                SyntheticTensor(name: p + name, shape: [cols, rows], role: role, layer: i)
            }
            func norm(_ name: String, _ count: Int) -> SyntheticTensor {
                SyntheticTensor(name: p + name, shape: [count], role: .norm, layer: i)
            }
            out += [
                norm("attn_norm.weight", d),
                matrix("attn_q.weight", d, s.heads * s.headSize, .attentionQuery),
                matrix("attn_k.weight", d, s.kvHeads * s.headSize, .attentionKey),
                matrix("attn_v.weight", d, s.kvHeads * s.headSize, .attentionValue),
                matrix("attn_output.weight", s.heads * s.headSize, d, .attentionOutput),
                norm("ffn_norm.weight", d),
                matrix("ffn_gate.weight", d, s.feedForwardLength, .feedForwardGate),
                matrix("ffn_up.weight", d, s.feedForwardLength, .feedForwardUp),
                matrix("ffn_down.weight", s.feedForwardLength, d, .feedForwardDown),
            ] + extraNorms.map { norm($0.0, $0.1) }
        }
        return out + [SyntheticTensor(name: "output_norm.weight", shape: [d], role: .norm, layer: nil)]
    }
}

enum Architectures {
    /// A constant list of stateless types (`SendableMetatype`, which says so to the compiler,
    /// needs Swift 6.2; the package builds with 6.1).
    nonisolated(unsafe) static let registered: [any Architecture.Type] = [Gemma3.self, Llama.self]

    /// Names of the supported architectures, for messages.
    static var names: [String] { registered.map { $0.name } }

    /// The architecture of `file`, or `unsupportedArchitecture`.
    static func of(_ file: GGUFFile) throws(ModelError) -> any Architecture.Type {
        let name = file.metadata.architecture ?? "(none)"
        guard let architecture = registered.first(where: { $0.name == name }) else { throw .unsupportedArchitecture(name) }
        return architecture
    }
}
