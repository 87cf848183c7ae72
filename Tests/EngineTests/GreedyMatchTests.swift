import Foundation
import KVCache
import Models
import Testing
import TestSupport

/// Greedy generation against llama.cpp's reference runs (see Fixtures/*/greedy*.jsonl): equal
/// ids until the reference's first near-tie, and close distributions at every step before it.
@Suite(.serialized) struct GreedyMatchTests {
    @Test func gemmaF32KV() throws { try check(.gemma3, "gemma3-270m/greedy_f32kv.jsonl", .f32) }
    @Test func gemmaF16KV() throws { try check(.gemma3, "gemma3-270m/greedy.jsonl", .f16) }
    @Test func smollmF16KV() throws { try check(.smollm2, "smollm2-135m/greedy.jsonl", .f16) }

    func check(_ name: TestModels.Name, _ file: String, _ kv: KVElementType) throws {
        let model = try Loaded.model(name)
        for ref in try ReferencePrompt.load(file) {
            let r = try compareGreedy(model, ref, kv: kv)
            print("[\(file) \(kv)] \(r)")
            #expect(r.passes, "\(file): \(r)")
            #expect(r.divergedAt == nil || r.divergedAt! >= (r.nearTieStep ?? 32), "\(file): \(r)")
        }
    }
}
