import Foundation
import KVCache
import TensorFormats
import Testing

/// `q4` keys centered span by span of positions (`KeyCentring`): the pre-RoPE mean comes back
/// from rotated keys, attention's per-span correction is each span's score shift, rows far
/// from the calibration batch stay as close as the first ones, and session files carry it.
@Suite struct KeyCentringTests {
    static let halves = KVRope(pairing: .halves, dimensions: 64, base: 10_000)
    static let adjacent = KVRope(pairing: .adjacent, dimensions: 64, base: 100_000)

    /// A deterministic pre-RoPE mean with a few large channels, as real keys have.
    static func mean(_ width: Int) -> [Float] {
        (0..<width).map { j in j % 9 == 0 ? 5 + Float(j % 4) : 0.3 * sinf(Float(j)) }
    }

    /// Token `t`'s key: the mean plus its own part, turned by RoPE to position `t`.
    static func key(_ t: Int, rope: KVRope, heads: Int, keyLength: Int) -> [Float] {
        var k = (0..<(heads * keyLength)).map { j in mean(heads * keyLength)[j] + 0.8 * sinf(Float(t * 31 + j * 17)) }
        k.withUnsafeMutableBufferPointer { p in
            for h in 0..<heads { rope.rotate(p.baseAddress! + h * keyLength, position: Double(t)) }
        }
        return k
    }

    @Test(arguments: [halves, adjacent])
    func meanUndoesTheRotation(rope: KVRope) {
        let centring = KeyCentring(rope: rope, span: 32)
        let rows = 400, width = 64
        let keys = (0..<rows).flatMap { Self.key($0, rope: rope, heads: 1, keyLength: width) }
        let mean = keys.withUnsafeBufferPointer {
            centring.mean(keys: $0.baseAddress!, stride: width, rows: Array(1..<rows), positions: (1..<rows).map { Int32($0) },
                          heads: 1, keyLength: width)
        }
        let truth = Self.mean(width)
        for j in 0..<rope.pairs {
            let (a, b) = rope.elements(pair: j), f = centring.shrink(pair: j)
            #expect(f <= 1 && f > -0.25)
            #expect(abs(mean[a] - f * Double(truth[a])) < 0.1, "pair \(j): \(mean[a]) vs \(f * Double(truth[a]))")
            #expect(abs(mean[b] - f * Double(truth[b])) < 0.1)
        }
        // The slowest pair barely turns over a span; the fastest turns a radian a position.
        #expect(centring.shrink(pair: rope.pairs - 1) > 0.99)
        #expect(centring.shrink(pair: 0) < 0.1)
    }

    /// What attention adds to a score over span s is q·offset(s), up to one constant for all spans.
    @Test(arguments: [halves, adjacent])
    func correctionIsEachSpansScoreShift(rope: KVRope) {
        let centring = KeyCentring(rope: rope, span: 32)
        let width = 80  // 64 rotated elements and 16 that are not
        let mean = Self.mean(width), q = (0..<width).map { sinf(Float($0) * 0.7) * 2 }
        var coefficients = [Float](repeating: 0, count: width)
        centring.coefficients(query: q, mean: mean, into: &coefficients)
        func shift(_ position: Int32) -> (Float, Float) {
            var o = [Float](repeating: 0, count: width)
            centring.offset(mean: mean, heads: 1, keyLength: width, position: position, into: &o)
            let direct = zip(q, o).map { $0 * $1 }.reduce(0, +)
            return (direct, centring.correction(coefficients: coefficients, spanIndex: centring.spanIndex(position)))
        }
        let (d0, c0) = shift(5)
        for p: Int32 in [31, 32, 700, 4095, 131_000] {
            let (d, c) = shift(p)
            #expect(abs((d - d0) - (c - c0)) < 1e-3 * (1 + abs(d - d0)), "position \(p)")
        }
        // Positions of one span share one offset.
        var a = [Float](repeating: 0, count: width), b = a
        centring.offset(mean: mean, heads: 1, keyLength: width, position: 64, into: &a)
        centring.offset(mean: mean, heads: 1, keyLength: width, position: 95, into: &b)
        #expect(a == b)
    }

    /// Calibrated on the first 128 tokens, a cache that knows its RoPE keeps keys at positions
    /// 1,500 and later as close as the first ones; one post-RoPE mean does not.
    @Test func farRowsStayClose() throws {
        let width = 64
        func error(rope: KVRope?) throws -> (early: Float, late: Float) {
            let shape = KVLayerShape(kvHeads: 1, keyLength: width, valueLength: width, rope: rope)
            let cache = SequenceKVCache(configuration: KVCacheConfiguration(layers: [shape], storage: .q4, contextLength: 2048))
            var early: Float = 0, late: Float = 0
            for start in stride(from: 0, to: 2048, by: 128) {
                try cache.reserve(128)
                let k = (start..<(start + 128)).flatMap { Self.key($0, rope: Self.halves, heads: 1, keyLength: width) }
                let v = [Float](repeating: 1, count: 128 * width)
                cache.calibrate(layer: 0, keys: k, keyStride: width, values: v, valueStride: width, rows: 128)
                for i in 0..<128 {
                    k.withUnsafeBufferPointer { cache.writeKey(layer: 0, batchIndex: i, $0.baseAddress! + i * width) }
                    v.withUnsafeBufferPointer { cache.writeValue(layer: 0, batchIndex: i, $0.baseAddress! + i * width) }
                }
                cache.commit()
            }
            let mean = try #require(cache.rowOffsets[0]).keys
            for t in 1..<2048 where t < 128 || t >= 1500 {
                let (block, s) = cache.slot(layer: 0, token: t)
                var back = [Float](repeating: 0, count: width), offset = mean
                Q4Layout.current.keys.dequantize(block.key(s), count: width, into: &back)
                back.withUnsafeMutableBufferPointer { hadamardRotate($0.baseAddress!, count: width) }
                if let c = cache.keyCentrings[0] {
                    c.offset(mean: mean, heads: 1, keyLength: width, position: Int32(t), into: &offset)
                }
                let x = Self.key(t, rope: Self.halves, heads: 1, keyLength: width)
                let e = zip(zip(back, offset), x).map { ($0.0 + $0.1 - $1) * ($0.0 + $0.1 - $1) }.reduce(0, +)
                if t < 128 { early += e / 127 } else { late += e / 548 }
            }
            return (early, late)
        }
        let spans = try error(rope: Self.halves), single = try error(rope: nil)
        #expect(spans.late < spans.early * 1.5, "spans: early \(spans.early), late \(spans.late)")
        #expect(spans.late * 3 < single.late, "late rows: spans \(spans.late) vs one offset \(single.late)")
    }

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("centring-\(UUID().uuidString)")

    /// A session of a cache centered span by span reads back with the same rows and mean; a q4
    /// file from before spans (its recorded layout lacks them) is refused, saying why.
    @Test func sessionFilesCarryTheCentring() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let layers = (0..<3).map { KVLayerShape(kvHeads: 1, keyLength: 64, valueLength: 64, window: $0 == 2 ? nil : 512,
                                                rope: Self.halves) }
        let cache = SequenceKVCache(configuration: KVCacheConfiguration(layers: layers, storage: .q4, contextLength: 1024))
        try cache.reserve(300)
        for l in layers.indices {
            let k = (0..<300).flatMap { Self.key($0, rope: Self.halves, heads: 1, keyLength: 64) }
            let v = (0..<300 * 64).map { sinf(Float($0)) }
            cache.calibrate(layer: l, keys: k, keyStride: 64, values: v, valueStride: 64, rows: 300)
            for i in 0..<300 {
                k.withUnsafeBufferPointer { cache.writeKey(layer: l, batchIndex: i, $0.baseAddress! + i * 64) }
                v.withUnsafeBufferPointer { cache.writeValue(layer: l, batchIndex: i, $0.baseAddress! + i * 64) }
            }
        }
        cache.commit()
        let url = dir.appendingPathComponent("s.safetensors")
        try SessionFile.write(cache: cache, tokens: Array(repeating: 1, count: 300), fingerprint: "m", to: url)
        let back = try SessionFile.read(path: url.path, fingerprint: "m", layers: layers).cache
        #expect(back.rowOffsets == cache.rowOffsets)
        #expect(back.keyCentrings.allSatisfy { $0?.span == Q4Layout.current.keySpan })
        let (a, s) = cache.slot(layer: 2, token: 299), (b, t) = back.slot(layer: 2, token: 299)
        #expect(Array(UnsafeRawBufferPointer(start: a.key(s), count: a.keyRowBytes))
                == Array(UnsafeRawBufferPointer(start: b.key(t), count: b.keyRowBytes)))

        let before = Q4Layout(keys: Q4Layout.current.keys, values: Q4Layout.current.values,
                              exactTokens: Q4Layout.current.exactTokens, balance: Q4Layout.current.balance, keySpan: nil)
        let old = dir.appendingPathComponent("old.safetensors")
        try CenteredKVTests().rewrite(try SafetensorsFile(path: url.path), version: SessionFile.formatVersion,
                                      setting: ["q4_layout": before.description], to: old)
        #expect { try SessionFile.read(path: old.path, fingerprint: "m", layers: layers) } throws: { error in
            "\(error)".contains("re-create")
        }
    }
}
