/// Which kernels a forward pass runs where the choice changes the floats.
public enum Numerics: String, Sendable, CaseIterable {
    /// rdic's fastest kernels: every sum exact in its integer part and otherwise ordered for
    /// speed (register-blocked attention with f32 running sums, cache-blocked integer GEMM).
    /// Results differ from llama.cpp's by float rounding, which these small models amplify to
    /// log-probability differences of the size llama.cpp's own settings show between them.
    case fast
    /// llama.cpp's kernels, operation for operation, on x86-64 (its AVX2 build): its flash
    /// attention paths (`FlashAttentionJob`), and every matrix product token by token through
    /// `ByteDot` (which decoded tokens and batches under `Gemm.minTokens` take in both modes).
    /// A forward pass then gives llama.cpp's floats bit for bit, given the same batches and,
    /// for Gemma's sliding-window layers, contexts under 1024 tokens (past that llama.cpp's
    /// ring of cache cells changes the order in which its attention visits keys). It costs
    /// what llama.cpp costs: prefill about 2.5x slower than the fast GEMM, decoding at 2K
    /// tokens of context about 2x slower than the fast attention.
    case llamaCpp = "llama-cpp"
}
