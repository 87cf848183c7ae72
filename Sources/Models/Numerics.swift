/// Which kernels a forward pass runs where the choice changes the floats.
public enum Numerics: String, Sendable, CaseIterable {
    /// rdic's fastest kernels: every sum exact in its integer part and otherwise ordered for
    /// speed (register-blocked attention with f32 running sums, cache-blocked integer GEMM).
    /// Results differ from llama.cpp's by float rounding, which these small models amplify to
    /// log-probability differences of the size llama.cpp's own settings show between them.
    case fast
    /// llama.cpp's kernels, operation for operation, on x86-64 (its AVX2 build): its flash
    /// attention paths (`LlamaCppF16AttentionJob`), and every matrix product token by token through
    /// `ByteDot` (which decoded tokens and batches under `Gemm.minTokens` take in both modes).
    /// A forward pass then gives llama.cpp's floats bit for bit given the same batches
    /// (verified on SmolLM2 up to 2,048 tokens of context and Gemma 3 up to 1,427; rdic takes a
    /// sliding-window layer's cache cells to hold tokens in order, which llama.cpp's ring of
    /// cells need not keep on longer contexts). It costs what llama.cpp costs: decoding at
    /// 2K tokens of context about half as fast as the fast attention, prefill at llama.cpp's
    /// speed on SmolLM2 and three quarters of it on Gemma 3.
    case llamaCpp = "llama-cpp"
}
