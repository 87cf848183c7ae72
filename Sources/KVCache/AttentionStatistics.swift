import Foundation
import TensorFormats

/// Attention weights gathered for H2O and SnapKV while tokens run through the model.
///
/// The fast attention kernels never materialise their weights, so when a cache carries
/// statistics the model hands each layer's queries here after its attention, and this class
/// recomputes the softmax weights of the queries that matter in a plain second pass over the
/// cached keys (same visibility rule: by position, and within the window on sliding layers).
/// Caches without statistics pay nothing. Per layer and query head it keeps, for each stored
/// token: the attention mass accumulated over every query seen (`accumulated`, H2O's heavy
/// hitters) and the mass from the last `observationWindow` queries (`observed`, SnapKV's votes).
public final class AttentionStatistics: @unchecked Sendable {
    /// What a policy needs gathered.
    public struct Needs: Sendable, Equatable {
        public var accumulated: Bool
        public var observationWindow: Int
        public init(accumulated: Bool = false, observationWindow: Int = 0) {
            self.accumulated = accumulated
            self.observationWindow = observationWindow
        }
        public static let none = Needs()
        public var isNone: Bool { !accumulated && observationWindow == 0 }
    }

    public let needs: Needs
    /// Query heads per layer (set at the first observation).
    public private(set) var heads = 0
    private var capacity = 0
    /// Per layer: `[head][token]` (rows of `capacity`).
    private var accumulatedMass: [[Float]] = []
    /// Per layer: a ring of `observationWindow` queries, each `[head][token]`.
    private var ring: [[[Float]]] = []
    private var ringNext: [Int] = []

    public init(needs: Needs) { self.needs = needs }

    /// Attention mass per `[head][token]` accumulated over every query seen in `layer`
    /// (`count` tokens per head, row stride `stride`).
    public func accumulated(layer: Int) -> (values: [Float], stride: Int)? {
        layer < accumulatedMass.count && !accumulatedMass[layer].isEmpty ? (accumulatedMass[layer], capacity) : nil
    }

    /// Attention mass per `[head][token]` from the last `observationWindow` queries of `layer`.
    public func observed(layer: Int) -> (values: [Float], stride: Int)? {
        guard layer < ring.count, !ring[layer].isEmpty else { return nil }
        var sum = [Float](repeating: 0, count: heads * capacity)
        for q in ring[layer] where !q.isEmpty { for i in sum.indices { sum[i] += q[i] } }
        return (sum, capacity)
    }

    /// Records the attention of the pending batch's `rows` queries (`[row][head][keyLength]`,
    /// after RoPE) in `layer` of `cache`, whose keys for the batch are already written.
    public func observe(cache: SequenceKVCache, layer: Int, queries: UnsafePointer<Float>, rows: Int, heads: Int,
                        scoreScale: Float, window: Int?) {
        guard !needs.isNone, rows > 0 else { return }
        prepare(layers: cache.layers.count, heads: heads, capacity: cache.configuration.contextLength)
        let firstObserved = max(0, rows - needs.observationWindow)
        let firstRow = needs.accumulated ? 0 : firstObserved
        let shape = cache.layers[layer].shape
        let kl = shape.keyLength, group = heads / shape.kvHeads
        let stored = cache.storedTokens(layer: layer)
        let keys = decodedKeys(cache: cache, layer: layer, stored: stored)
        var positions = [Int32](repeating: 0, count: stored.count)
        for (j, t) in stored.enumerated() { let (b, s) = cache.slot(layer: layer, token: t); positions[j] = b.positions[s] }
        var q = [Float](repeating: 0, count: kl)
        var weights = [Float](repeating: 0, count: stored.count)
        // Keys centered span by span: each span's share of the scores, added back per key.
        let centring = cache.keyCentrings[layer], mean = cache.rowOffsets[layer]?.keys ?? []
        var coefficients = [Float](repeating: 0, count: kl)
        let rotate = cache.configuration.storage.rotatesKeys
        for i in firstRow..<rows {
            let qpos = positions[cache.count + i - stored.lowerBound]
            var row = i >= firstObserved && needs.observationWindow > 0 ? [Float](repeating: 0, count: heads * capacity) : []
            for h in 0..<heads {
                for d in 0..<kl { q[d] = queries[(i * heads + h) * kl + d] }
                if let centring, !mean.isEmpty {
                    q.withUnsafeBufferPointer { qp in mean.withUnsafeBufferPointer { m in coefficients.withUnsafeMutableBufferPointer { c in
                        centring.coefficients(query: qp.baseAddress!, mean: m.baseAddress! + (h / group) * kl, into: c.baseAddress!)
                    } } }
                }
                if let scales = cache.rowOffsets[layer]?.keyScales, !scales.isEmpty {
                    for d in 0..<kl { q[d] *= scales[(h / group) * kl + d] }
                }
                if rotate { q.withUnsafeMutableBufferPointer { hadamardRotate($0.baseAddress!, count: kl) } }
                let g = h / group
                var maxScore = -Float.infinity
                for j in 0..<stored.count {
                    let kp = positions[j]
                    guard kp <= qpos && (window == nil || qpos - kp < Int32(window!)) else { weights[j] = -.infinity; continue }
                    var s: Float = 0
                    let k = (j * shape.kvHeads + g) * kl
                    for d in 0..<kl { s += q[d] * keys[k + d] }
                    if let centring, !mean.isEmpty {
                        s += coefficients.withUnsafeBufferPointer { centring.correction(coefficients: $0.baseAddress!, spanIndex: centring.spanIndex(kp)) }
                    }
                    weights[j] = s * scoreScale
                    maxScore = max(maxScore, weights[j])
                }
                var sum: Float = 0
                for j in 0..<stored.count {
                    weights[j] = weights[j] == -.infinity ? 0 : expf(weights[j] - maxScore)
                    sum += weights[j]
                }
                let base = h * capacity + stored.lowerBound
                for j in 0..<stored.count where weights[j] > 0 {
                    let p = weights[j] / sum
                    if needs.accumulated { accumulatedMass[layer][base + j] += p }
                    if !row.isEmpty { row[base + j] = p }
                }
            }
            if !row.isEmpty {
                ring[layer][ringNext[layer]] = row
                ringNext[layer] = (ringNext[layer] + 1) % needs.observationWindow
            }
        }
    }

    /// Keeps the statistics of the tokens at `kept` (the cache's compaction), at their new indices.
    func compact(keeping kept: [Int]) {
        func remap(_ a: inout [Float]) {
            guard !a.isEmpty else { return }
            for h in 0..<heads {
                let b = h * capacity
                for (j, t) in kept.enumerated() { a[b + j] = a[b + t] }
                for j in kept.count..<capacity { a[b + j] = 0 }
            }
        }
        for l in accumulatedMass.indices { remap(&accumulatedMass[l]) }
        for l in ring.indices { for r in ring[l].indices { remap(&ring[l][r]) } }
    }

    private func prepare(layers: Int, heads: Int, capacity: Int) {
        guard self.heads == 0 else { return }
        self.heads = heads
        self.capacity = capacity
        if needs.accumulated { accumulatedMass = Array(repeating: [Float](repeating: 0, count: heads * capacity), count: layers) }
        if needs.observationWindow > 0 {
            ring = Array(repeating: Array(repeating: [], count: needs.observationWindow), count: layers)
            ringNext = Array(repeating: 0, count: layers)
        }
    }

    /// The stored keys of `layer` as f32 `[token][kvHead][keyLength]` (still rotated if stored so).
    private func decodedKeys(cache: SequenceKVCache, layer: Int, stored: Range<Int>) -> [Float] {
        let shape = cache.layers[layer].shape
        let width = shape.kvHeads * shape.keyLength
        let type = cache.configuration.storage.key
        let headBytes = type.keyRowBytes(shape.keyLength)
        var out = [Float](repeating: 0, count: stored.count * width)
        out.withUnsafeMutableBufferPointer { o in
            for (j, t) in stored.enumerated() {
                let (b, s) = cache.slot(layer: layer, token: t)
                for g in 0..<shape.kvHeads {
                    let dst = o.baseAddress! + j * width + g * shape.keyLength
                    if type == .q4 { Q4Layout.current.keys.dequantize(b.key(s) + g * headBytes, count: shape.keyLength, into: dst) }
                    else { try! dequantize(type.ggmlType, from: b.key(s) + g * headBytes, count: shape.keyLength, into: dst) }
                }
            }
        }
        return out
    }
}
