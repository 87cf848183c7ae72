import TensorFormats

/// How keys or values are stored in cache blocks. f16 halves the memory and is llama.cpp's
/// default (its reference outputs were made with it); f32 is the exact setting; q8_0 and q4_0
/// are ggml's 32-element block formats (a row of `headDim` elements is a whole number of blocks
/// for every model we run). `KVStorage` picks one for keys and one for values.
public enum KVElementType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32, f16, q8_0, q4_0, q4

    /// The ggml block format of a stored row (for quantize / dequantize / addScaled).
    public var ggmlType: GGMLType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        case .q4: preconditionFailure("q4 rows are no ggml format (see Q4Rows)")
        }
    }

    /// Bytes one key row of `count` elements takes in this storage (quantized rows: `count` is
    /// a multiple of 32, q4 rows of its groups, true of every head length we run).
    public func keyRowBytes(_ count: Int) -> Int { self == .q4 ? Q4Layout.current.keys.rowBytes(count) : rowBytes(count) }
    /// Bytes one value row of `count` elements takes (q4 keys and values may group differently).
    public func valueRowBytes(_ count: Int) -> Int { self == .q4 ? Q4Layout.current.values.rowBytes(count) : rowBytes(count) }

    private func rowBytes(_ count: Int) -> Int {
        switch self {
        case .f32: 4 * count
        case .f16: 2 * count
        case .q8_0: count / 32 * 34
        case .q4_0: count / 32 * 18
        case .q4: preconditionFailure("q4 rows are key or value rows")
        }
    }

    /// Bits one stored key element takes, block scales included (rows of 256 elements; every
    /// format here has the same ratio for any whole number of blocks).
    public var keyBitsPerElement: Double { Double(keyRowBytes(256) * 8) / 256 }
    public var valueBitsPerElement: Double { Double(valueRowBytes(256) * 8) / 256 }
    /// The mean of the key and value bits.
    public var bitsPerElement: Double { (keyBitsPerElement + valueBitsPerElement) / 2 }

    public var description: String { rawValue }
}

/// The shape of one layer's cache: how many KV heads of which widths, and whether the layer
/// attends to a sliding window (then only the last `window` positions are kept).
public struct KVLayerShape: Sendable, Equatable {
    public var kvHeads: Int
    public var keyLength: Int
    public var valueLength: Int
    /// A sliding-window layer sees keys whose position is within `window - 1` of the query's.
    public var window: Int?
    /// How the model rotated the keys by position (nil: not known, or not rotated).
    public var rope: KVRope?

    public init(kvHeads: Int, keyLength: Int, valueLength: Int, window: Int? = nil, rope: KVRope? = nil) {
        precondition(rope.map { $0.dimensions <= keyLength } ?? true)
        self.kvHeads = kvHeads
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.window = window
        self.rope = rope
    }
}

/// Errors the cache reports.
public enum KVCacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// More tokens than the context holds.
    case contextFull(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case .contextFull(let tokens, let context):
            "the sequence needs \(tokens) tokens but the context holds \(context)"
        }
    }
}

/// The cache's fixed parameters.
public struct KVCacheConfiguration: Sendable, Equatable {
    public var layers: [KVLayerShape]
    public var storage: KVStorage
    /// Tokens per block. Blocks are the unit of allocation (and later of sharing between
    /// forked sequences), so memory grows with the sequence, not with the context size.
    public var blockTokens: Int
    /// Most tokens one sequence may hold.
    public var contextLength: Int

    public init(layers: [KVLayerShape], storage: KVStorage = .f16, blockTokens: Int = 64,
                contextLength: Int) {
        precondition(blockTokens > 0 && contextLength > 0)
        self.layers = layers
        self.storage = storage
        self.blockTokens = blockTokens
        self.contextLength = contextLength
    }

    /// Bytes of one token's keys (all KV heads) in `layer`.
    public func keyRowBytes(layer: Int) -> Int { layers[layer].kvHeads * storage.key.keyRowBytes(layers[layer].keyLength) }
    /// Bytes of one token's values (all KV heads) in `layer`.
    public func valueRowBytes(layer: Int) -> Int { layers[layer].kvHeads * storage.value.valueRowBytes(layers[layer].valueLength) }

    /// Bytes one block of `layer` takes (keys, values and positions).
    public func blockBytes(layer: Int) -> Int {
        blockTokens * (keyRowBytes(layer: layer) + valueRowBytes(layer: layer) + 4)
    }

    /// Bytes the cache takes at most for a sequence of `tokens` tokens: sliding layers stop
    /// growing at their window (plus one block of slack and one prefill batch).
    public func bytesNeeded(tokens: Int, batch: Int = 512) -> Int {
        var total = 0
        for (i, s) in layers.enumerated() {
            let kept = s.window.map { min(tokens, $0 + batch) } ?? tokens
            let blocks = (kept + blockTokens - 1) / blockTokens + (s.window == nil ? 0 : 1)
            total += blocks * blockBytes(layer: i)
        }
        return total
    }
}

/// Storage for `capacity` consecutive tokens of one layer: keys `[token][kvHead][keyLength]`,
/// values `[token][kvHead][valueLength]`, and each token's position.
///
/// A class so that blocks can be shared by reference (the future fork is copy-on-write over
/// these); its memory is raw so the element type can change without generic code.
public final class KVBlock: @unchecked Sendable {
    public let capacity: Int
    public let keyRowBytes: Int
    public let valueRowBytes: Int
    public let keys: UnsafeMutableRawPointer
    public let values: UnsafeMutableRawPointer
    public let positions: UnsafeMutablePointer<Int32>

    init(capacity: Int, keyRowBytes: Int, valueRowBytes: Int) {
        self.capacity = capacity
        self.keyRowBytes = keyRowBytes
        self.valueRowBytes = valueRowBytes
        keys = .allocate(byteCount: capacity * keyRowBytes, alignment: 64)
        values = .allocate(byteCount: capacity * valueRowBytes, alignment: 64)
        positions = .allocate(capacity: capacity)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
        positions.deallocate()
        FreedMemory.note(freed: capacity * (keyRowBytes + valueRowBytes + 4))
    }

    /// A private copy (for copy-on-write when a forked sequence writes into a shared block).
    func copy() -> KVBlock {
        let b = KVBlock(capacity: capacity, keyRowBytes: keyRowBytes, valueRowBytes: valueRowBytes)
        b.keys.copyMemory(from: keys, byteCount: capacity * keyRowBytes)
        b.values.copyMemory(from: values, byteCount: capacity * valueRowBytes)
        b.positions.update(from: positions, count: capacity)
        return b
    }

    /// The key row (all KV heads) of slot `i`.
    @inline(__always) public func key(_ i: Int) -> UnsafeMutableRawPointer { keys + i * keyRowBytes }
    /// The value row (all KV heads) of slot `i`.
    @inline(__always) public func value(_ i: Int) -> UnsafeMutableRawPointer { values + i * valueRowBytes }
}

/// One layer of one sequence: its blocks in token order. Token `t` of the sequence lives in
/// block `t / blockTokens - firstBlock`, slot `t % blockTokens`. A sliding-window layer drops
/// blocks that fall wholly out of its window and reuses them for new tokens (a ring of blocks).
public struct KVLayer: @unchecked Sendable {
    public let shape: KVLayerShape
    public internal(set) var blocks: [KVBlock] = []
    /// Index (in sequence blocks) of `blocks[0]`.
    public internal(set) var firstBlock = 0
    private var spare: [KVBlock] = []

    init(shape: KVLayerShape) { self.shape = shape }

    /// The same blocks, shared; no spares (those belong to the original).
    func forked() -> KVLayer {
        var l = KVLayer(shape: shape)
        l.blocks = blocks
        l.firstBlock = firstBlock
        return l
    }

    /// Replaces block `i` by a private copy if another sequence also holds it, so that writes
    /// never reach a sibling's data.
    mutating func makeUnique(_ i: Int) {
        if !isKnownUniquelyReferenced(&blocks[i]) { blocks[i] = blocks[i].copy() }
    }

    /// Keeps a dropped block for reuse only when no other sequence holds it.
    private mutating func recycle(_ block: KVBlock) {
        var b = block
        if isKnownUniquelyReferenced(&b) { spare.append(b) }
    }

    mutating func ensure(tokens: Int, blockTokens: Int, make: () -> KVBlock) {
        let needed = (tokens + blockTokens - 1) / blockTokens - firstBlock
        while blocks.count < needed { blocks.append(spare.popLast() ?? make()) }
    }

    /// Drops blocks whose every token is older than `oldestNeeded`.
    mutating func evict(before oldestNeeded: Int, blockTokens: Int) {
        let keepFrom = oldestNeeded / blockTokens
        while firstBlock < keepFrom, !blocks.isEmpty {
            recycle(blocks.removeFirst())
            firstBlock += 1
        }
    }

    mutating func truncate(to tokens: Int, blockTokens: Int) {
        let needed = max(0, (tokens + blockTokens - 1) / blockTokens - firstBlock)
        while blocks.count > needed { recycle(blocks.removeLast()) }
    }

    /// First token index still stored.
    public func firstStoredToken(blockTokens: Int) -> Int { firstBlock * blockTokens }
}

/// The KV cache of one sequence: per layer, a list of fixed-size blocks.
///
/// Tokens are appended in batches: `reserve` makes room for the batch, the model writes each
/// layer's keys and values with `writeKey`/`writeValue`, and `commit` makes them part of the
/// sequence (evicting what sliding-window layers no longer need). Positions are stored per
/// token, and attention masks by position, so a caller may place tokens where it likes.
public final class SequenceKVCache: @unchecked Sendable {
    public let configuration: KVCacheConfiguration
    public internal(set) var layers: [KVLayer]
    /// Tokens committed.
    public internal(set) var count = 0
    /// Tokens reserved for the batch being written (0 between batches).
    public private(set) var pending = 0
    /// The position the next token gets by default.
    public var nextPosition: Int32 = 0
    /// Attention statistics a compression policy asked for (nil: none are gathered, and the
    /// forward pass does no extra work). Not carried over by `fork`.
    public var attentionStatistics: AttentionStatistics?
    /// Per layer, what centering subtracted from its rows (nil: nothing; see `KVRowOffsets`).
    public internal(set) var rowOffsets: [KVRowOffsets?]
    /// The first tokens' rows kept exactly (q4 only; see `KVExactRows`).
    public internal(set) var exactRows: KVExactRows?
    /// Per layer, how its keys are centered span by span (q4 keys of a layer with RoPE; nil:
    /// with the one offset of `rowOffsets`).
    public let keyCentrings: [KeyCentring?]

    public init(configuration: KVCacheConfiguration) {
        self.configuration = configuration
        layers = configuration.layers.map { KVLayer(shape: $0) }
        rowOffsets = Array(repeating: nil, count: configuration.layers.count)
        let span = configuration.storage.key == .q4 ? Q4Layout.current.keySpan : nil
        keyCentrings = configuration.layers.map { shape in
            guard let span, let rope = shape.rope else { return nil }
            return KeyCentring(rope: rope, span: span)
        }
        let exact = Q4Layout.current.exactTokens
        if configuration.storage.key == .q4 && exact > 0 {
            exactRows = KVExactRows(tokens: configuration.layers.map { _ in exact }, layers: configuration.layers)
        }
    }

    /// Makes room for `n` more tokens at `positions` (default: consecutive from `nextPosition`).
    public func reserve(_ n: Int, positions: [Int32]? = nil) throws(KVCacheError) {
        let total = count + n
        guard total <= configuration.contextLength else {
            throw .contextFull(tokens: total, context: configuration.contextLength)
        }
        let bt = configuration.blockTokens
        for l in layers.indices {
            let kRow = configuration.keyRowBytes(layer: l), vRow = configuration.valueRowBytes(layer: l)
            layers[l].ensure(tokens: total, blockTokens: bt) {
                KVBlock(capacity: bt, keyRowBytes: kRow, valueRowBytes: vRow)
            }
            // Only the blocks this batch writes need to be private (copy-on-write).
            if n > 0 {
                for b in ((count / bt) - layers[l].firstBlock)...((total - 1) / bt - layers[l].firstBlock) where b >= 0 {
                    layers[l].makeUnique(b)
                }
            }
            for i in 0..<n {
                let t = count + i
                let block = layers[l].blocks[t / bt - layers[l].firstBlock]
                block.positions[t % bt] = positions?[i] ?? (nextPosition + Int32(i))
            }
        }
        pending = n
    }

    /// Block and slot of token `t` in `layer`.
    @inline(__always) public func slot(layer: Int, token t: Int) -> (KVBlock, Int) {
        let bt = configuration.blockTokens
        return (layers[layer].blocks[t / bt - layers[layer].firstBlock], t % bt)
    }

    /// Stores the keys (all KV heads, f32) of pending token `i` of the batch.
    public func writeKey(layer: Int, batchIndex i: Int, _ src: UnsafePointer<Float>) {
        let t = count + i
        let (block, s) = slot(layer: layer, token: t)
        let shape = layers[layer].shape
        let storage = configuration.storage
        let offsets = storage.key.centers ? rowOffsets[layer] : nil
        let exact = t < (exactRows?.tokens[layer] ?? 0) ? exactRows?.key(layer: layer, token: t) : nil
        func put(_ offset: UnsafePointer<Float>?) {
            store(src, heads: shape.kvHeads, length: shape.keyLength, as: storage.key, format: Q4Layout.current.keys,
                  rotated: storage.rotatesKeys, offset: offset, divisor: offsets?.keyScales, exact: exact, into: block.key(s))
        }
        guard let mean = offsets?.keys else { return put(nil) }
        mean.withUnsafeBufferPointer { m in
            guard let centring = keyCentrings[layer] else { return put(m.baseAddress) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: shape.kvHeads * shape.keyLength) { o in
                centring.offset(mean: m.baseAddress!, heads: shape.kvHeads, keyLength: shape.keyLength,
                                position: block.positions[s], into: o.baseAddress!)
                put(o.baseAddress)
            }
        }
    }

    /// Stores the values (all KV heads, f32) of pending token `i` of the batch.
    public func writeValue(layer: Int, batchIndex i: Int, _ src: UnsafePointer<Float>) {
        let t = count + i
        let (block, s) = slot(layer: layer, token: t)
        let shape = layers[layer].shape
        let storage = configuration.storage
        func put(_ offset: UnsafePointer<Float>?) {
            store(src, heads: shape.kvHeads, length: shape.valueLength, as: storage.value, format: Q4Layout.current.values,
                  rotated: storage.rotatesValues, offset: offset, divisor: nil,
                  exact: t < (exactRows?.tokens[layer] ?? 0) ? exactRows?.value(layer: layer, token: t) : nil, into: block.value(s))
        }
        guard storage.value.centers, let values = rowOffsets[layer]?.values else { return put(nil) }
        values.withUnsafeBufferPointer { put($0.baseAddress) }
    }

    @inline(__always) private func store(_ src: UnsafePointer<Float>, heads: Int, length: Int, as type: KVElementType,
                                         format: Q4Rows, rotated: Bool, offset: UnsafePointer<Float>?, divisor: [Float]?,
                                         exact: UnsafeMutablePointer<Float16>?, into dst: UnsafeMutableRawPointer) {
        let n = heads * length
        switch type {
        case .f32:
            dst.copyMemory(from: src, byteCount: 4 * n)
        case .f16:
            let d = dst.assumingMemoryBound(to: UInt16.self)
            for j in 0..<n { d[j] = floatToHalf(src[j]) }
        case .q8_0, .q4_0, .q4:
            // Rows are whole blocks (32 elements; q4: its groups) per head, so quantizing all
            // heads at once gives the same blocks as per head. 4-bit blocks get a fitted scale
            // (Q4_0's reference scale wastes levels on blocks with an outlier). Centering and
            // balancing (q4) come before the rotation.
            @inline(__always) func blocks(_ x: UnsafePointer<Float>) {
                switch type {
                case .q8_0: try! quantize(.q8_0, from: x, count: n, into: dst)
                case .q4: format.quantize(x, count: n, into: dst)
                default: quantizeQ4_0Fitted(from: x, count: n, into: dst)
                }
            }
            guard rotated || offset != nil || divisor != nil || exact != nil else { return blocks(src) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { row in
                let r = row.baseAddress!
                if let offset { for j in 0..<n { r[j] = src[j] - offset[j] } } else { r.update(from: src, count: n) }
                if let divisor, !divisor.isEmpty { for j in 0..<n { r[j] /= divisor[j] } }
                if rotated { for h in 0..<heads { hadamardRotate(r + h * length, count: length) } }
                if let exact { for j in 0..<n { exact[j] = Float16(r[j]) } }
                blocks(r)
            }
        }
    }

    /// Abandons a reserved batch (the pass that was to write it failed): the sequence is as it
    /// was before `reserve`.
    public func cancelPending() { pending = 0 }

    /// Makes the reserved batch part of the sequence.
    public func commit() {
        guard pending > 0 else { return }
        let bt = configuration.blockTokens
        let (last, _) = slot(layer: 0, token: count + pending - 1)
        nextPosition = last.positions[(count + pending - 1) % bt] + 1
        count += pending
        pending = 0
        for l in layers.indices {
            if let w = layers[l].shape.window {
                // The next token (position p) still needs keys down to p - w + 1.
                layers[l].evict(before: max(0, count - w), blockTokens: bt)
            }
        }
    }

    /// Whether `truncate(to: n)` keeps the first `n` tokens (rather than clearing the cache):
    /// every sliding layer still stores the keys position `n` would see.
    public func canTruncate(to n: Int) -> Bool {
        guard n > 0 && n <= count else { return n == 0 }
        let bt = configuration.blockTokens
        for l in layers.indices {
            // The next token (position n) sees keys from n - window + 1 on.
            if let w = layers[l].shape.window, layers[l].firstStoredToken(blockTokens: bt) > max(0, n - w + 1) {
                return false
            }
        }
        return true
    }

    /// Forgets tokens from index `n` on (e.g. to re-use a shared prefix). Sliding layers
    /// can only go back as far as they still store; going further clears the cache.
    public func truncate(to n: Int) {
        precondition(n >= 0 && n <= count)
        pending = 0
        let bt = configuration.blockTokens
        if !canTruncate(to: n) || n == 0 {
            layers = configuration.layers.map { KVLayer(shape: $0) }
            count = 0
            nextPosition = 0
            return
        }
        for l in layers.indices { layers[l].truncate(to: n, blockTokens: bt) }
        let (block, s) = slot(layer: 0, token: n - 1)
        nextPosition = block.positions[s] + 1
        count = n
    }

    /// Empties the sequence.
    public func clear() { truncate(to: 0) }

    /// The range of token indices `layer` still stores, including the pending batch.
    public func storedTokens(layer: Int) -> Range<Int> {
        let first = layers[layer].firstStoredToken(blockTokens: configuration.blockTokens)
        return min(first, count)..<(count + pending)
    }

    /// A new sequence holding the same tokens, sharing every block copy-on-write: the fork
    /// and this cache each copy a shared block only when they first write into it, so a long
    /// common prefix is stored once however many forks there are.
    public func fork() -> SequenceKVCache {
        precondition(pending == 0, "fork between batches")
        let f = SequenceKVCache(configuration: configuration)
        f.layers = layers.map { $0.forked() }
        f.count = count
        f.nextPosition = nextPosition
        f.rowOffsets = rowOffsets
        f.exactRows = exactRows?.copy()
        return f
    }

    /// Bytes of block memory held by `caches` together, each shared block counted once.
    public static func distinctBytes(_ caches: [SequenceKVCache]) -> Int {
        var seen = Set<ObjectIdentifier>()
        var total = 0
        for c in caches {
            for l in c.layers.indices {
                for b in c.layers[l].blocks where seen.insert(ObjectIdentifier(b)).inserted {
                    total += c.configuration.blockBytes(layer: l)
                }
            }
        }
        return total
    }

    /// Bytes of block memory held now.
    public var bytesAllocated: Int {
        var total = 0
        for l in layers.indices { total += layers[l].blocks.count * configuration.blockBytes(layer: l) }
        return total
    }
}
