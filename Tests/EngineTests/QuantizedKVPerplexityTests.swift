import KVCache
import TestSupport
import Testing

/// Perplexity with q8_0 / q4_0 keys and values is no worse than llama.cpp's with the same KV
/// types, within half a percent of noise: plain rows against its "kv_rotation": false runs,
/// rotated rows against its rotated runs (the fixture has plain runs for Gemma only).
@Suite(.serialized, .computeBound) struct QuantizedKVPerplexityTests {
    @Test(arguments: [("gemma3-270m", TestModels.Name.gemma3), ("smollm2-135m", .smollm2)],
          [(KVElementType.q8_0, true), (.q4_0, true), (.q8_0, false), (.q4_0, false)])
    func quantizedKV(_ model: (String, TestModels.Name), _ kv: (KVElementType, Bool)) throws {
        guard let ref = try PerplexityTests.reference(model.0, ctx: 512, kv: kv.0.rawValue, rotation: kv.1) else { return }
        let ours = try PerplexityTests.measure(model.1, ctx: 512, kv: KVStorage(kv.0, rotation: kv.1))
        #expect(ours <= ref * 1.005, "PPL \(ours) with \(kv) KV vs llama.cpp \(ref)")
    }
}
