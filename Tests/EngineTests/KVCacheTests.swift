import KVCache
import TestSupport
import Testing

/// The block cache on its own: block allocation, positions, sliding-window eviction, truncation.
@Suite(.computeBound) struct KVCacheTests {
    func config(window: Int? = 8, type: KVElementType = .f32) -> KVCacheConfiguration {
        KVCacheConfiguration(layers: [KVLayerShape(kvHeads: 1, keyLength: 4, valueLength: 4),
                                      KVLayerShape(kvHeads: 1, keyLength: 4, valueLength: 4, window: window)],
                             storage: KVStorage(type), blockTokens: 4, contextLength: 64)
    }


    @Test func storesTokensInFixedBlocksWithPositions() throws {
        let cache = SequenceKVCache(configuration: config(window: nil))
        try appendRows(cache, 10)
        #expect(cache.count == 10)
        #expect(cache.layers[0].blocks.count == 3)  // 4 + 4 + 2 of 4-token blocks
        let (block, slot) = cache.slot(layer: 0, token: 9)
        #expect(block.positions[slot] == 9)
        #expect(block.key(slot).assumingMemoryBound(to: Float.self)[0] == 9)
        #expect(cache.nextPosition == 10)
    }

    @Test func slidingLayerKeepsOnlyItsWindow() throws {
        let cache = SequenceKVCache(configuration: config(window: 8))
        for _ in 0..<10 { try appendRows(cache, 3) }  // 30 tokens
        #expect(cache.layers[0].blocks.count == 8)  // the full layer keeps everything
        // The sliding layer keeps the blocks holding tokens 22..<30 (positions p - 8 + 1 ... p).
        let stored = cache.storedTokens(layer: 1)
        #expect(stored.lowerBound <= 30 - 8 && stored.upperBound == 30)
        #expect(cache.layers[1].blocks.count <= 3)
        let (block, slot) = cache.slot(layer: 1, token: 22)
        #expect(block.positions[slot] == 22)
    }

    @Test func explicitPositionsAreKept() throws {
        let cache = SequenceKVCache(configuration: config(window: nil))
        try cache.reserve(3, positions: [100, 101, 105])
        cache.commit()
        let (block, slot) = cache.slot(layer: 0, token: 2)
        #expect(block.positions[slot] == 105)
        #expect(cache.nextPosition == 106)
    }

    @Test func truncateKeepsPrefixOrClearsWhenTheWindowIsGone() throws {
        let cache = SequenceKVCache(configuration: config(window: 8))
        try appendRows(cache, 12)
        // Tokens 0..<4 were evicted from the sliding layer; position 11 needs 4 on: still there.
        cache.truncate(to: 11)
        #expect(cache.count == 11 && cache.nextPosition == 11)
        try appendRows(cache, 20)
        cache.truncate(to: 5)  // the sliding layer no longer has tokens 0..<5: start over
        #expect(cache.count == 0 && cache.nextPosition == 0)
    }

    @Test func contextLimitIsAnError() throws {
        let cache = SequenceKVCache(configuration: config())
        #expect(throws: KVCacheError.contextFull(tokens: 65, context: 64)) { try cache.reserve(65) }
    }

    @Test func f16StorageRoundsToHalf() throws {
        let cache = SequenceKVCache(configuration: config(type: .f16))
        try cache.reserve(1)
        cache.writeKey(layer: 0, batchIndex: 0, [1.0, 0.1, -2.5, 65504])
        cache.commit()
        let (block, slot) = cache.slot(layer: 0, token: 0)
        let h = block.key(slot).assumingMemoryBound(to: UInt16.self)
        #expect(h[0] == 0x3C00 && h[2] == 0xC100 && h[3] == 0x7BFF)
        #expect(cache.bytesAllocated == 2 * cache.configuration.blockBytes(layer: 0))
    }
}

/// Appends `n` tokens to a two-layer test cache, each row filled with its token index.
func appendRows(_ cache: SequenceKVCache, _ n: Int) throws {
    try cache.reserve(n)
    for i in 0..<n {
        let v = [Float](repeating: Float(cache.count + i), count: 4)
        for l in 0..<2 {
            cache.writeKey(layer: l, batchIndex: i, v)
            cache.writeValue(layer: l, batchIndex: i, v)
        }
    }
    cache.commit()
}
