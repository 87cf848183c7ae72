import Foundation
import KVCache
import Models
import Testing
import TestSupport

/// The last layer runs only the rows whose hidden states are returned (the rest only write
/// their keys and values): asking for fewer rows must not change the rows returned, nor what
/// the cache holds for the tokens after them.
@Suite(.serialized, .computeBound) struct OutputRowsTests {
    /// A deterministic prompt of `n` ids from the model's vocabulary.
    static func prompt(_ n: Int, seed: Int, vocabulary: Int) -> [Int32] {
        (0..<n).map { Int32((($0 + 1) * 7919 + seed * 104_729) % min(vocabulary, 30_000) + 10) }
    }

    /// The largest difference between two equally long arrays (0 when they are the same bits
    /// up to the sign of zero; an array of thousands of floats makes an unreadable failure).
    static func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { $0 == $1 ? 0 : abs($0 - $1).isNaN ? .infinity : abs($0 - $1) }.max() ?? 0
    }

    /// Hidden states of `rows` when the pass returns only them against the same rows when it
    /// returns every row, bit for bit; then the next chunk, on caches filled both ways.
    @Test(arguments: [TestModels.Name.smollm2, .gemma3], [KVStorage.f16, .f32, .q4])
    func fewerOutputRowsChangeNoBits(_ name: TestModels.Name, _ storage: KVStorage) throws {
        let model = try Loaded.model(name)
        let h = model.hyperparameters, d = h.embeddingLength
        let tokens = Self.prompt(70, seed: 1, vocabulary: h.vocabularySize)
        let next = Self.prompt(9, seed: 2, vocabulary: h.vocabularySize)
        func cache() -> SequenceKVCache {
            SequenceKVCache(configuration: model.cacheConfiguration(contextLength: 256, storage: storage))
        }
        let everyCache = cache(), lastCache = cache(), noneCache = cache()
        let every = try model.forward(tokens: tokens, cache: everyCache, outputRows: 0..<tokens.count)
        let last = try model.forward(tokens: tokens, cache: lastCache, outputRows: (tokens.count - 1)..<tokens.count)
        let some = try model.forward(tokens: tokens, cache: cache(), outputRows: 40..<43)
        _ = try model.forward(tokens: tokens, cache: noneCache, outputRows: 0..<0)
        #expect(Self.largestDifference(last, Array(every[((tokens.count - 1) * d)...])) == 0, "the last row alone")
        #expect(Self.largestDifference(some, Array(every[(40 * d)..<(43 * d)])) == 0, "three middle rows")
        // The chunk after: its own rows, every one of them, from each cache.
        let after = try [everyCache, lastCache, noneCache].map {
            try model.forward(tokens: next, cache: $0, outputRows: 0..<next.count)
        }
        #expect(Self.largestDifference(after[1], after[0]) == 0, "after the last row alone")
        #expect(Self.largestDifference(after[2], after[0]) == 0, "after no output row")
    }

    /// Several sequences in one pass, a decoded token among prompt chunks, each returning its
    /// last row: the same rows as each sequence alone returning all of its rows.
    @Test(arguments: [TestModels.Name.smollm2, .gemma3])
    func batchedSequencesReturnTheirRowsAlone(_ name: TestModels.Name) throws {
        let model = try Loaded.model(name)
        let h = model.hyperparameters, d = h.embeddingLength
        let prompts = [Self.prompt(33, seed: 3, vocabulary: h.vocabularySize), [Int32(1234)],
                       Self.prompt(20, seed: 4, vocabulary: h.vocabularySize)]
        func cache() -> SequenceKVCache { SequenceKVCache(configuration: model.cacheConfiguration(contextLength: 128)) }
        var alone: [Float] = []
        for p in prompts {
            let all = try model.forward(tokens: p, cache: cache(), outputRows: 0..<p.count)
            alone += all[((p.count - 1) * d)...]
        }
        let batch = prompts.map { SequenceBatch(tokens: $0, cache: cache(), outputRows: ($0.count - 1)..<$0.count) }
        var together = [Float](repeating: 0, count: prompts.count * d)
        try together.withUnsafeMutableBufferPointer { try model.forward(batch, into: $0.baseAddress!) }
        #expect(Self.largestDifference(together, alone) == 0)
    }
}
