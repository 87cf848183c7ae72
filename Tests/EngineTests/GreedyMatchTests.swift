import Foundation
import KVCache
import Models
import Testing
import TestSupport

/// Greedy generation against llama.cpp's reference runs (see Fixtures/*/greedy*.jsonl).
///
/// For each prompt the reference is replayed: prefill its `prompt_ids`, generate greedily, and
/// compare each step's distribution with llama.cpp's until the reference's first near-tie
/// (top-1/top-2 gap < 0.2 nats), where a split is tolerated.
///
/// SmolLM2 (Q4_1 and Q8_0 weights, f16 cache) runs through kernels that reproduce llama.cpp's
/// AVX2 build operation for operation (`ByteDot.matchesGgml`, `FlashAttentionJob`, the SwiGLU,
/// RoPE and norm kernels): on x86-64 every prompt must meet the strict per-step criterion
/// (same top-1, at least 8 of the top-10 ids shared and mean |delta log-prob| <= 0.15 at every
/// step before the first near-tie); the deltas left are ~1e-4, the log-softmax's rounding.
///
/// Gemma's matrices (Q5_0, Q6_K, and Q4_K, which llama.cpp repacks) do not go through such
/// kernels yet, and its reference runs were made in a setting that this build of llama.cpp
/// itself does not reproduce (see the README's correctness section). There what is asserted is
/// "within llama.cpp's own noise floor": over the checked steps of a file, mean |delta| over
/// shared top-10 ids at most 0.15, top-1 equal on at least 95% of steps, at least 8 of the
/// top-10 ids shared on at least 95% of steps, and llama.cpp's ids up to the first near-tie on
/// at least 75% of prompts. A one-ulp change in an activation's 8-bit quantization moves these
/// small models' log-probabilities by up to ~0.4 nats, as llama.cpp's own settings show.
@Suite(.serialized, .computeBound) struct GreedyMatchTests {
    @Test func gemmaF32KV() throws { try check(.gemma3, "gemma3-270m/greedy_f32kv.jsonl", .f32) }
    @Test func gemmaF16KV() throws { try check(.gemma3, "gemma3-270m/greedy.jsonl", .f16) }
    @Test func smollmF16KV() throws {
        #if arch(x86_64)
        try check(.smollm2, "smollm2-135m/greedy.jsonl", .f16, strict: true)
        #else
        try check(.smollm2, "smollm2-135m/greedy.jsonl", .f16)
        #endif
    }

    func check(_ name: TestModels.Name, _ file: String, _ kv: KVElementType, strict requireStrict: Bool = false) throws {
        let model = try Loaded.model(name)
        var results: [GreedyComparison] = []
        for ref in try ReferencePrompt.load(file) {
            let r = try compareGreedy(model, ref, kv: kv)
            print("[\(file) \(kv)] \(r)")
            results.append(r)
        }
        let checked = results.map(\.checkedSteps).reduce(0, +)
        let top1 = results.map(\.top1Matches).reduce(0, +)
        let overlap8 = results.map(\.stepsWithOverlap8).reduce(0, +)
        let strict = results.filter(\.passes).count
        let sameIds = results.filter { $0.divergedAt == nil || $0.divergedAt! >= ($0.nearTieStep ?? 32) }.count
        let meanDelta = results.map(\.sumMeanAbsDelta).reduce(0, +) / Double(max(checked, 1))
        print("[\(file) \(kv)] summary: top-1 \(top1)/\(checked), >=8 shared \(overlap8)/\(checked), "
              + "mean |delta logprob| \(String(format: "%.4f", meanDelta)), "
              + "prompts with llama.cpp's ids up to the first near-tie \(sameIds)/\(results.count), "
              + "prompts meeting the strict per-step criterion \(strict)/\(results.count)")
        // A top-1 flip before the near-tie (within the noise, see above) splits the ids early.
        #expect(Double(sameIds) >= 0.75 * Double(results.count), "ids equal up to the near-tie on \(sameIds)/\(results.count)")
        #expect(meanDelta <= 0.15, "mean |delta log-prob| \(meanDelta)")
        #expect(Double(top1) >= 0.95 * Double(checked), "top-1 agreement \(top1)/\(checked)")
        #expect(Double(overlap8) >= 0.95 * Double(checked), "top-10 overlap >= 8 on \(overlap8)/\(checked)")
        if requireStrict {
            for r in results { #expect(r.passes, "strict per-step criterion: \(r)") }
            #expect(sameIds == results.count)
        }
    }
}
