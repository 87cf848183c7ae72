import Agents
import Engine
import Foundation
import KVCache
import Models
import TestSupport
import Testing
import Tokenizers

/// Requests decoded together in one batched pass produce what each produces alone.
@Suite(.serialized) struct BatchedDecodingTests {
    @Test(arguments: [TestModels.Name.smollm2, .gemma3])
    func fourSequencesDecodeAsAlone(_ name: TestModels.Name) async throws {
        let engine = try Engines.get(name)
        let requests = prompts.prefix(4).map { prompt(engine, $0) }
        let expected = try requests.map { try alone(engine, $0, greedy(24)) }

        var config = AgentRuntimeConfiguration()
        config.parallel = 4
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        let outputs = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, p) in requests.enumerated() {
                group.addTask {
                    let s = try await runtime.generate(AgentRequest(tenant: "t", agent: "a\(i)", prompt: p, options: greedy(24)))
                    return (i, s.outputIds)
                }
            }
            var out = [[Int32]](repeating: [], count: requests.count)
            for try await (i, ids) in group { out[i] = ids }
            return out
        }
        for i in requests.indices {
            #expect(outputs[i] == expected[i], "request \(i) of \(name.rawValue)")
        }
        await runtime.shutdown()
    }

    /// The batched pass itself: four caches advanced together give the same hidden states as
    /// four passes of one sequence each.
    /// Gemma's Q4_K and Q6_K rows go through the multi-row kernels that give each decoded row
    /// the single-token floats; SmolLM2's Q4_1 through the 32-element ones.
    @Test(arguments: [TestModels.Name.smollm2, .gemma3])
    func batchedForwardMatchesSingle(_ name: TestModels.Name) throws {
        let engine = try Engines.get(name)
        let model = engine.model
        let d = model.hyperparameters.embeddingLength
        let seqs = prompts.prefix(4).map { prompt(engine, $0) }
        let single = seqs.map { _ in model.makeCache(contextLength: 512) }
        let batched = seqs.map { _ in model.makeCache(contextLength: 512) }
        var expected: [[Float]] = []
        for (s, c) in zip(seqs, single) {
            expected.append(try model.forward(tokens: s, cache: c, outputRows: (s.count - 1)..<s.count))
        }
        var out = [Float](repeating: 0, count: 4 * d)
        try out.withUnsafeMutableBufferPointer { o in
            try model.forward(zip(seqs, batched).map { SequenceBatch(tokens: $0, cache: $1, outputRows: ($0.count - 1)..<$0.count) },
                              into: o.baseAddress!)
        }
        // Each sequence's rows take the kernels they take alone: the same floats, bit for bit.
        for i in 0..<4 { #expect(Array(out[(i * d)..<((i + 1) * d)]) == expected[i], "sequence \(i)") }
        // Then one decoded token each, four rows of four sequences in one pass.
        let next: [Int32] = [1, 2, 3, 4].map { Int32($0 * 100) }
        var single1: [Float] = []
        for i in 0..<4 { single1 += try model.forward(tokens: [next[i]], cache: single[i], outputRows: 0..<1) }
        var out1 = [Float](repeating: 0, count: 4 * d)
        try out1.withUnsafeMutableBufferPointer { o in
            try model.forward((0..<4).map { SequenceBatch(tokens: [next[$0]], cache: batched[$0], outputRows: 0..<1) },
                              into: o.baseAddress!)
        }
        #expect(out1 == single1)
        // Logits of the four rows at once, each as if alone.
        let vocab = model.hyperparameters.vocabularySize
        var together = [Float](repeating: 0, count: 4 * vocab)
        out1.withUnsafeBufferPointer { h in
            together.withUnsafeMutableBufferPointer { model.logits(hidden: h.baseAddress!, rows: 4, independentRows: true, into: $0.baseAddress!) }
        }
        for i in 0..<4 {
            #expect(Array(together[(i * vocab)..<((i + 1) * vocab)]) == model.logits(hidden: Array(single1[(i * d)..<((i + 1) * d)])))
        }
        for i in 0..<4 { #expect(single[i].count == batched[i].count) }
    }

    /// A prompt's attention does not depend on how it is cut into batches: at a depth of a
    /// few hundred tokens, 24 new tokens in one pass and in passes of 5 and 19 (other query
    /// tiles, other runs) give the same floats.
    @Test func promptCutDoesNotChangeAttention() throws {
        let engine = try Engines.get(.smollm2)
        let model = engine.model
        let text = Array(engine.encode(String(repeating: prompts.joined(separator: " "), count: 8)).prefix(330))
        try #require(text.count == 330)
        let history = Array(text[..<306]), new = Array(text[306...])
        let whole = model.makeCache(contextLength: 512), cut = model.makeCache(contextLength: 512)
        for c in [whole, cut] {
            for start in stride(from: 0, to: history.count, by: 102) {
                _ = try model.forward(tokens: Array(history[start..<(start + 102)]), cache: c, outputRows: 0..<0)
            }
        }
        let one = try model.forward(tokens: new, cache: whole, outputRows: 0..<new.count)
        var two = try model.forward(tokens: Array(new[..<5]), cache: cut, outputRows: 0..<5)
        two += try model.forward(tokens: Array(new[5...]), cache: cut, outputRows: 0..<19)
        #expect(one == two)
    }
}
