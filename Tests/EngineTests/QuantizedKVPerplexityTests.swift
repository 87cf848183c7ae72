import TestSupport
import Testing

/// Perplexity with q8_0 / q4_0 keys and values is no worse than llama.cpp's with the same KV
/// types (its plain "kv_rotation": false runs; the fixture has those for Gemma only), within
/// half a percent of noise.
@Suite(.serialized, .computeBound) struct QuantizedKVPerplexityTests {
    @Test(arguments: ["q8_0", "q4_0"])
    func gemmaQuantizedKV(_ kv: String) throws {
        let ours = try PerplexityTests.measure(.gemma3, ctx: 512, kv: .init(rawValue: kv)!)
        let ref = try PerplexityTests.reference("gemma3-270m", ctx: 512, kv: kv)
        #expect(ours <= ref * 1.005, "PPL \(ours) with \(kv) KV vs llama.cpp \(ref)")
    }
}
