import Engine
import Foundation
import KVCache
import Tokenizers
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

    /// `q4` (keys centered per 16 positions after RoPE, key-balanced, rotated 4.25-bit rows,
    /// first token exact: 4.33 bits per element at ctx 512, everything counted) on GPL-3 at ctx
    /// 512 against an f16 cache on the same chunks. The goal is +2%; measured: Gemma
    /// +1.17% (mean KL 0.025, 99% 0.24, same top 91.9%), SmolLM2 +0.90% (mean KL 0.023, 99%
    /// 0.16, same top 90.2%); with one key offset per layer +1.99% and +1.93%.
    @Test(arguments: [TestModels.Name.gemma3, .smollm2])
    func q4StaysCloseToF16(_ name: TestModels.Name) throws {
        let model = try Loaded.model(name)
        let tokenizer = try Tokenizer(gguf: model.file)
        let text = try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8)
        let tokens = tokenizer.encode(text, addBOS: nil, parseSpecial: false)
        let r = try Perplexity.compare(model: model, tokens: tokens, context: 512, bos: tokenizer.addsBOS ? tokenizer.bos : nil,
                                       base: .f16, test: .q4)
        print("[q4 \(name.rawValue) ctx 512] PPL f16 \(r.base.perplexity), q4 \(r.test.perplexity), "
              + "KL mean \(r.meanDivergence), p99 \(r.divergenceQuantile(0.99)), same top \(r.sameTopShare)")
        #expect(r.test.perplexity <= r.base.perplexity * 1.02, "q4 PPL \(r.test.perplexity) vs f16 \(r.base.perplexity)")
        #expect(r.meanDivergence < 0.032)
        #expect(r.sameTopShare > 0.895)
    }
}
