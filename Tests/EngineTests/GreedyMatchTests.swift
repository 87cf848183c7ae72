import Foundation
import KVCache
import Models
import Testing
import TestSupport

/// Greedy generation against llama.cpp's reference runs (see Fixtures/*/greedy*.jsonl): equal
/// ids until the reference's first near-tie, and close distributions at every step before it.
@Suite(.serialized) struct GreedyMatchTests {
    static let cases: [(TestModels.Name, String, KVElementType)] = [
        (.gemma3, "gemma3-270m/greedy_f32kv.jsonl", .f32),
        (.gemma3, "gemma3-270m/greedy.jsonl", .f16),
        (.smollm2, "smollm2-135m/greedy.jsonl", .f16),
    ]

    @Test(arguments: 0..<3)
    func matchesReference(_ index: Int) throws {
        let (name, file, kv) = Self.cases[index]
        let model = try Loaded.model(name)
        for ref in try ReferencePrompt.load(file) {
            let r = try compareGreedy(model, ref, kv: kv)
            print("[\(file) \(kv)] \(r)")
            #expect(r.passes, "\(file): \(r)")
            #expect(r.divergedAt == nil || r.divergedAt! >= (r.nearTieStep ?? 32), "\(file): \(r)")
        }
    }
}
