import Foundation
import KVCache
import TestSupport
import Testing

/// Compression policies and compaction on synthetic caches: each token's keys and values hold
/// its original index, so the kept set can be read back from the cache itself.
@Suite struct KVCompressionTests {
    func config(window: Int? = 8, blockTokens: Int = 4, context: Int = 512) -> KVCacheConfiguration {
        KVCacheConfiguration(layers: [KVLayerShape(kvHeads: 1, keyLength: 4, valueLength: 4),
                                      KVLayerShape(kvHeads: 1, keyLength: 4, valueLength: 4, window: window)],
                             storage: .f32, blockTokens: blockTokens, contextLength: context)
    }

    func filled(_ n: Int, window: Int? = 8, blockTokens: Int = 4) throws -> SequenceKVCache {
        let cache = SequenceKVCache(configuration: config(window: window, blockTokens: blockTokens))
        try appendRows(cache, n)
        return cache
    }


    /// (position, key value) of every stored slot of `layer`.
    func stored(_ cache: SequenceKVCache, layer: Int) -> [(Int32, Float)] {
        cache.storedTokens(layer: layer).map { t in
            let (b, s) = cache.slot(layer: layer, token: t)
            return (b.positions[s], b.key(s).assumingMemoryBound(to: Float.self)[0])
        }
    }

    @Test func streamingKeepsExactlySinksAndRecentWindow() throws {
        let cache = try filled(20)
        let kept = cache.compress(with: StreamingPolicy(sinks: 2), budget: 8)
        #expect(kept == [0, 1, 14, 15, 16, 17, 18, 19])
        #expect(cache.count == 8)
        #expect(cache.nextPosition == 20)
        let global = stored(cache, layer: 0)
        #expect(global.map(\.0) == [0, 1, 14, 15, 16, 17, 18, 19])
        #expect(global.map(\.1) == [0, 1, 14, 15, 16, 17, 18, 19])
        // The sliding layer had evicted the sinks: their slots are masked, the rest kept.
        let sliding = stored(cache, layer: 1)
        #expect(sliding.map(\.0) == [SequenceKVCache.maskedPosition, SequenceKVCache.maskedPosition, 14, 15, 16, 17, 18, 19])
        #expect(sliding.suffix(6).map(\.1) == [14, 15, 16, 17, 18, 19])
        // The next token continues after the last original position.
        try appendRows(cache, 1)
        #expect(stored(cache, layer: 0).last!.0 == 20)
    }

    @Test func windowWithoutSinksKeepsOnlyTheRecentTokens() throws {
        let cache = try filled(20, window: nil)
        #expect(cache.compress(with: try KVPolicies.named("window"), budget: 5) == [15, 16, 17, 18, 19])
    }

    @Test func randomIsReproducibleBySeed() throws {
        let a = try filled(40, window: nil).compress(with: RandomPolicy(seed: 7), budget: 10)
        let b = try filled(40, window: nil).compress(with: RandomPolicy(seed: 7), budget: 10)
        let c = try filled(40, window: nil).compress(with: RandomPolicy(seed: 8), budget: 10)
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 10 && Set(a).count == 10 && a == a.sorted())
    }

    @Test func fullBudgetLeavesTheCacheUntouched() throws {
        let cache = try filled(20)
        let before = cache.layers.map { $0.blocks.map(ObjectIdentifier.init) }
        for policy in KVPolicies.names {
            #expect(cache.compress(with: try KVPolicies.named(policy), budget: 20) == Array(0..<20))
        }
        #expect(cache.layers.map { $0.blocks.map(ObjectIdentifier.init) } == before)
        #expect(cache.count == 20)
    }

    @Test func memoryDropsByTheKeepRatio() throws {
        let full = try filled(256, window: nil, blockTokens: 64)
        let bytes = full.bytesAllocated
        for (keep, expected) in [(0.5, bytes / 2), (0.25, bytes / 4)] {
            let cache = try filled(256, window: nil, blockTokens: 64)
            cache.compress(with: StreamingPolicy(), budget: Int(256 * keep))
            #expect(cache.bytesAllocated == expected)
        }
    }

    @Test func compactingAForkLeavesTheSiblingIntact() throws {
        let original = try filled(20, window: nil)
        let fork = original.fork()
        fork.compress(with: StreamingPolicy(sinks: 1), budget: 4)
        try appendRows(fork, 3)
        #expect(original.count == 20)
        #expect(stored(original, layer: 0).map(\.1) == (0..<20).map(Float.init))
        #expect(stored(original, layer: 0).map(\.0) == (0..<20).map { Int32($0) })
        #expect(stored(fork, layer: 0).map(\.0) == [0, 17, 18, 19, 20, 21, 22])
    }

    @Test func protectLastTurnKeepsTheLastTurnWhole() throws {
        let cache = try filled(30, window: nil)
        let kept = cache.compress(with: ProtectLastTurn(RandomPolicy(seed: 1), lastTurnStart: 24), budget: 10)
        #expect(kept.count == 10)
        #expect(Array(kept.suffix(6)) == Array(24..<30))
        #expect(kept.prefix(4).allSatisfy { $0 < 24 })
    }

    @Test func compactedCacheSavesAndRestores() throws {
        let cache = try filled(20)
        cache.compress(with: StreamingPolicy(sinks: 2), budget: 8)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kvcompress-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SessionFile.write(cache: cache, tokens: Array(0..<8), fingerprint: "test", to: url)
        let back = try SessionFile.read(path: url.path, fingerprint: "test", layers: cache.configuration.layers).cache
        #expect(back.count == 8 && back.nextPosition == 20)
        for l in 0..<2 {
            #expect(stored(back, layer: l).map(\.0) == stored(cache, layer: l).map(\.0))
            #expect(stored(back, layer: l).map(\.1) == stored(cache, layer: l).map(\.1))
        }
    }

    @Test func heavyHittersAreTheKeysTheQueriesAttendTo() throws {
        // Token 3's key points along the queries; all others are orthogonal to them.
        let config = KVCacheConfiguration(layers: [KVLayerShape(kvHeads: 1, keyLength: 4, valueLength: 4)],
                                          storage: .f32, blockTokens: 4, contextLength: 64)
        let cache = SequenceKVCache(configuration: config)
        let policy = HeavyHitterPolicy(recentFraction: 0.5)
        cache.attentionStatistics = AttentionStatistics(needs: policy.statisticsNeeded)
        let n = 16
        try cache.reserve(n)
        for i in 0..<n {
            let k: [Float] = i == 3 ? [8, 0, 0, 0] : [0, 1, 0, 0]
            cache.writeKey(layer: 0, batchIndex: i, k)
            cache.writeValue(layer: 0, batchIndex: i, k)
        }
        let queries: [Float] = (0..<(n * 4)).map { $0 % 4 == 0 ? 1 : 0 }
        cache.attentionStatistics!.observe(cache: cache, layer: 0, queries: queries, rows: n, heads: 1, scoreScale: 1, window: nil)
        cache.commit()
        let kept = cache.compress(with: policy, budget: 4)
        #expect(kept.contains(3))
        #expect(Array(kept.suffix(2)) == [14, 15])
        #expect(kept.count == 4)
    }
}
