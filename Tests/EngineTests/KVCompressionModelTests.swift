import Engine
import Foundation
import KVCache
import Models
import Testing
import TestSupport
import Tokenizers

/// Compression on a real model (SmolLM2-135M): a cache compressed at keep 1.0, with whatever
/// statistics its policy gathers, predicts exactly what the uncompressed cache predicts; a
/// compressed cache still runs and holds fewer bytes.
@Suite(.serialized, .computeBound) struct KVCompressionModelTests {
    static func prompt(_ model: Transformer, count: Int) throws -> [Int32] {
        let tokenizer = try Tokenizer(gguf: model.file)
        let text = try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8)
        return Array(tokenizer.encode(String(text.prefix(4000)), addBOS: nil, parseSpecial: false).prefix(count))
    }

    /// Logits of the token after `tokens`, run in steps of 32 through `compression`.
    static func nextLogits(_ model: Transformer, _ tokens: [Int32], _ compression: StreamingCompression?) throws -> ([Float], SequenceKVCache) {
        let cache = model.makeCache(contextLength: 256)
        compression?.attachStatistics(to: cache)
        var hidden: [Float] = []
        var i = 0
        while i < tokens.count {
            let end = min(i + 32, tokens.count)
            compression?.makeRoom(for: end - i, in: cache)
            hidden = try model.forward(tokens: Array(tokens[i..<end]), cache: cache, outputRows: (end - i - 1)..<(end - i))
            i = end
        }
        return (model.logits(hidden: hidden), cache)
    }

    @Test func keepOneIsBitIdenticalToNone() throws {
        let model = try Loaded.model(.smollm2)
        let tokens = try Self.prompt(model, count: 100)
        let (reference, _) = try Self.nextLogits(model, tokens, nil)
        for name in KVPolicies.names + ["protect_last_turn:h2o"] {
            let compression = StreamingCompression(policy: try KVPolicies.named(name), keep: 1.0, context: 256)
            let (logits, _) = try Self.nextLogits(model, tokens, compression)
            #expect(logits == reference, "\(name)")
        }
    }

    @Test func compressedCachesRunInLessMemory() throws {
        let model = try Loaded.model(.smollm2)
        let tokens = try Self.prompt(model, count: 200)
        let (_, full) = try Self.nextLogits(model, tokens, nil)
        for name in ["streaming", "h2o", "snapkv"] {
            let compression = StreamingCompression(policy: try KVPolicies.named(name), budget: 96)
            let (logits, cache) = try Self.nextLogits(model, tokens, compression)
            #expect(logits.allSatisfy { $0.isFinite }, "\(name)")
            #expect(cache.count <= 96 && cache.nextPosition == 200, "\(name)")
            // 200 tokens take 4 blocks of 64 per layer; at most 96 take 2.
            #expect(cache.bytesAllocated * 2 == full.bytesAllocated, "\(name)")
        }
    }

    /// Between turns: a session compressed by SnapKV keeps its token list in step with its
    /// cache, and the next turn appends after the kept tokens at the original positions.
    @Test func sessionCompressesBetweenTurns() throws {
        let engine = try GenerationTests.engine.get()
        let tokens = try Self.prompt(engine.model, count: 150)
        let session = engine.makeSession(contextLength: 512)
        let policy = try KVPolicies.named("snapkv")
        session.gatherStatistics(for: policy)
        try session.append(tokens: Array(tokens[0..<120]))
        let kept = session.compress(with: policy, budget: 60)
        #expect(kept.count == 60 && Array(kept.suffix(32)) == Array(88..<120))
        #expect(session.tokens == kept.map { tokens[$0] })
        try session.append(tokens: Array(tokens[120..<150]))
        #expect(session.cache.count == 90 && session.tokens.count == 90)
        let (last, slot) = session.cache.slot(layer: 0, token: 89)
        #expect(last.positions[slot] == 149)
    }
}
