import Engine
import Foundation
import GGUF
import KVCache
import Models
import Testing
import TestSupport
import Tokenizers

/// Perplexity on the GPL-3 text against llama-perplexity's figures (Fixtures/*/perplexity.json),
/// within 1%. The whole text is scored at ctx 512 (14-15 chunks; the reference is only for the
/// full run). ctx 2048, which crosses Gemma's 512-token sliding window, is 3 chunks of 2048
/// tokens and runs when RDIC_SLOW_TESTS is set (`rdic perplexity --ctx 2048` does the same).
@Suite(.serialized, .computeBound) struct PerplexityTests {
    /// llama.cpp's figure for these settings; nil when the fixture has no such run.
    static func reference(_ model: String, ctx: Int, kv: String, flash: Bool? = nil, rotation: Bool = false) throws -> Double? {
        let data = try Data(contentsOf: Fixtures.url("\(model)/perplexity.json"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let runs = json["runs"] as! [[String: Any]]
        let run = runs.first {
            $0["ctx"] as? Int == ctx && $0["kv_type"] as? String == kv
                && (flash == nil || $0["flash_attn"] as? Bool == flash) && ($0["kv_rotation"] as? Bool ?? false) == rotation
        }
        return (run?["ppl"] as? NSNumber)?.doubleValue
    }

    static func measure(_ name: TestModels.Name, ctx: Int, kv: KVStorage, numerics: Numerics = .fast) throws -> Double {
        let model = try Loaded.model(name, numerics: numerics)
        let tokenizer = try Tokenizer(gguf: model.file)
        let text = try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8)
        let tokens = tokenizer.encode(text, addBOS: nil, parseSpecial: false)
        let result = try Perplexity.compute(model: model, tokens: tokens, context: ctx,
                                            bos: tokenizer.addsBOS ? tokenizer.bos : nil, kv: kv)
        print("[perplexity \(name.rawValue) ctx \(ctx) \(kv) \(numerics.rawValue)] \(result.chunks) chunks, PPL \(result.perplexity)")
        return result.perplexity
    }

    static var slow: Bool { ProcessInfo.processInfo.environment["RDIC_SLOW_TESTS"] != nil }

    @Test func smollmCtx512() throws {
        let ours = try Self.measure(.smollm2, ctx: 512, kv: .f16)
        let ref = try #require(try Self.reference("smollm2-135m", ctx: 512, kv: "f16"))
        #expect(abs(ours / ref - 1) < 0.01, "PPL \(ours) vs llama.cpp \(ref)")
    }

    @Test func gemmaCtx512() throws {
        let ours = try Self.measure(.gemma3, ctx: 512, kv: .f32)
        let ref = try #require(try Self.reference("gemma3-270m", ctx: 512, kv: "f32"))
        #expect(abs(ours / ref - 1) < 0.01, "PPL \(ours) vs llama.cpp \(ref)")
    }

    /// With llama.cpp's arithmetic the figure is llama.cpp's own (f16 cache, flash attention:
    /// its defaults) to the 4 decimals it prints.
    @Test(arguments: [TestModels.Name.smollm2, .gemma3]) func llamaCppNumericsCtx512(_ name: TestModels.Name) throws {
        #if arch(x86_64)
        let ours = try Self.measure(name, ctx: 512, kv: .f16, numerics: .llamaCpp)
        let file = name == .gemma3 ? "gemma3-270m" : "smollm2-135m"
        let ref = try #require(try Self.reference(file, ctx: 512, kv: "f16", flash: true))
        #expect(abs(ours - ref) <= 0.00005, "PPL \(ours) vs llama.cpp \(ref)")
        #endif
    }

    @Test(.enabled(if: slow)) func gemmaCtx2048() throws {
        let ours = try Self.measure(.gemma3, ctx: 2048, kv: .f16)
        let ref = try #require(try Self.reference("gemma3-270m", ctx: 2048, kv: "f16"))
        #expect(abs(ours / ref - 1) < 0.01, "PPL \(ours) vs llama.cpp \(ref)")
    }

    @Test(.enabled(if: slow)) func smollmCtx2048() throws {
        let ours = try Self.measure(.smollm2, ctx: 2048, kv: .f16)
        let ref = try #require(try Self.reference("smollm2-135m", ctx: 2048, kv: "f16"))
        #expect(abs(ours / ref - 1) < 0.01, "PPL \(ours) vs llama.cpp \(ref)")
    }
}
