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
/// What is asserted is "within llama.cpp's own noise floor": llama.cpp's f16-KV/flash-attention
/// run and its f32-KV run of the same prompts differ by 0.05-0.20 nats of mean |delta log-prob|
/// per step (computed from the two Gemma fixtures) and agree on the top token ~95% of the time.
/// So, over the checked steps of a file: mean |delta| over shared top-10 ids at most 0.15,
/// top-1 equal on at least 95% of steps, at least 8 of the top-10 ids shared on at least 95%
/// of steps, and llama.cpp's ids up to the first near-tie on at least 75% of prompts. Single
/// steps do stray further (worst seen: 0.72 nats, 6 shared ids, once in 136 Gemma steps): a
/// one-ulp change in an activation's 8-bit quantization moves these small models that much,
/// as llama.cpp's own settings show. The printed lines give per-prompt figures for the
/// stricter per-step reading (every step <= 0.15, same top-1, >= 8 shared).
@Suite(.serialized, .computeBound) struct GreedyMatchTests {
    @Test func gemmaF32KV() throws { try check(.gemma3, "gemma3-270m/greedy_f32kv.jsonl", .f32) }
    @Test func gemmaF16KV() throws { try check(.gemma3, "gemma3-270m/greedy.jsonl", .f16) }
    @Test func smollmF16KV() throws { try check(.smollm2, "smollm2-135m/greedy.jsonl", .f16) }

    func check(_ name: TestModels.Name, _ file: String, _ kv: KVElementType) throws {
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
    }
}
