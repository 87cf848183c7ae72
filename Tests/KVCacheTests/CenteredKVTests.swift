import Foundation
import KVCache
import TensorFormats
import Testing

/// The `q4` cache type on its own: its true size, what centering does to its rows, and its
/// session files (offsets saved, older files still read).
@Suite struct CenteredKVTests {
    /// The cache shapes of the two real models (Gemma 3 270M: 5 of every 6 layers slide over 512).
    static let smollm = (0..<30).map { _ in KVLayerShape(kvHeads: 3, keyLength: 64, valueLength: 64) }
    static let gemma = (0..<18).map { KVLayerShape(kvHeads: 1, keyLength: 256, valueLength: 256, window: $0 % 6 == 5 ? nil : 512) }

    /// Rows of `width` values sharing a large common part (as real keys do), token `t`'s own
    /// part varying with `t`.
    static func row(_ t: Int, width: Int) -> [Float] {
        (0..<width).map { j in (j % 7 == 0 ? 6 : 0.5) + sinf(Float(t * 31 + j * 17)) * (j % 5 == 0 ? 1.5 : 0.4) }
    }

    static func fill(_ cache: SequenceKVCache, tokens: Int) throws {
        try cache.reserve(tokens)
        for l in cache.layers.indices {
            let s = cache.layers[l].shape
            let k = (0..<tokens).flatMap { row($0, width: s.kvHeads * s.keyLength) }
            let v = (0..<tokens).flatMap { row($0 + 1000, width: s.kvHeads * s.valueLength) }
            cache.calibrate(layer: l, keys: k, keyStride: s.kvHeads * s.keyLength, values: v,
                            valueStride: s.kvHeads * s.valueLength, rows: tokens)
            for i in 0..<tokens {
                k.withUnsafeBufferPointer { cache.writeKey(layer: l, batchIndex: i, $0.baseAddress! + i * s.kvHeads * s.keyLength) }
                v.withUnsafeBufferPointer { cache.writeValue(layer: l, batchIndex: i, $0.baseAddress! + i * s.kvHeads * s.valueLength) }
            }
        }
        cache.commit()
    }

    @Test func trueBitsPerElement() {
        for layers in [Self.smollm, Self.gemma] {
            let q4 = KVCacheConfiguration(layers: layers, storage: .q4, contextLength: 32768)
            #expect(q4.bitsPerElement(tokens: 512) <= 4.5)
            #expect(q4.bitsPerElement(tokens: 32768) < q4.bitsPerElement(tokens: 512))
            #expect(KVCacheConfiguration(layers: layers, storage: .f16, contextLength: 512).bitsPerElement(tokens: 512) == 16)
            #expect(KVCacheConfiguration(layers: layers, storage: .q4_0, contextLength: 512).bitsPerElement(tokens: 512) == 4.5)
        }
        #expect(KVElementType.q8_0.bitsPerElement == 8.5)
    }

    /// The offsets are the batch's mean row without position 0; stored rows plus the offset come
    /// back within the 4-bit step, several times closer than rotated Q4_0 rows without centering.
    @Test func centeringShrinksTheError() throws {
        let layers = [KVLayerShape(kvHeads: 2, keyLength: 64, valueLength: 64)]
        let q4 = SequenceKVCache(configuration: KVCacheConfiguration(layers: layers, storage: .q4, contextLength: 256))
        let q40 = SequenceKVCache(configuration: KVCacheConfiguration(layers: layers, storage: .q4_0, contextLength: 256))
        try Self.fill(q4, tokens: 100)
        try Self.fill(q40, tokens: 100)
        let offsets = try #require(q4.rowOffsets[0])
        let mean = (0..<128).map { j in (1..<100).map { Self.row($0, width: 128)[j] }.reduce(0, +) / 99 }
        for j in 0..<128 { #expect(abs(offsets.keys[j] - mean[j]) < 4e-3) }  // rounded to f16
        #expect(q40.rowOffsets[0] == nil)

        func error(_ cache: SequenceKVCache) throws -> Float {
            var total: Float = 0
            for t in 0..<100 {
                let (block, s) = cache.slot(layer: 0, token: t)
                var back = [Float](repeating: 0, count: 128)
                if cache.configuration.storage.key == .q4 { Q4Layout.current.keys.dequantize(block.key(s), count: 128, into: &back) }
                else { try dequantize(.q4_0, from: block.key(s), count: 128, into: &back) }
                for h in 0..<2 { back.withUnsafeMutableBufferPointer { hadamardRotate($0.baseAddress! + h * 64, count: 64) } }
                let o = cache.rowOffsets[0]?.keys ?? [Float](repeating: 0, count: 128)
                let x = Self.row(t, width: 128)
                for j in 0..<128 { total += (back[j] + o[j] - x[j]) * (back[j] + o[j] - x[j]) }
            }
            return total
        }
        let centered = try error(q4), plain = try error(q40)
        #expect(centered * 3 < plain, "centered \(centered) vs rotated only \(plain)")
    }

    /// Compaction moves q4 rows like any others; the offsets stay (they hold for every row).
    @Test func compactionKeepsRowsAndOffsets() throws {
        let cache = SequenceKVCache(configuration: KVCacheConfiguration(layers: Self.smollm, storage: .q4, blockTokens: 16,
                                                                        contextLength: 256))
        try Self.fill(cache, tokens: 40)
        let offsets = cache.rowOffsets
        let (b, s) = cache.slot(layer: 3, token: 30)
        let row30 = Array(UnsafeRawBufferPointer(start: b.key(s), count: b.keyRowBytes))
        cache.compact(keeping: [0, 1, 2, 30, 39])
        #expect(cache.count == 5)
        #expect(cache.rowOffsets == offsets)
        let (nb, ns) = cache.slot(layer: 3, token: 3)
        #expect(Array(UnsafeRawBufferPointer(start: nb.key(ns), count: nb.keyRowBytes)) == row30)
        #expect(nb.positions[ns] == 30)
    }

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("centered-\(UUID().uuidString)")

    @Test func sessionFilesKeepTheOffsets() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = SequenceKVCache(configuration: KVCacheConfiguration(layers: Self.gemma, storage: .q4, blockTokens: 64,
                                                                        contextLength: 2048))
        try Self.fill(cache, tokens: 700)
        let url = dir.appendingPathComponent("q4.safetensors")
        try SessionFile.write(cache: cache, tokens: (0..<700).map { Int32($0) }, fingerprint: "m", to: url)
        let back = try SessionFile.read(path: url.path, fingerprint: "m", layers: Self.gemma)
        #expect(back.cache.configuration.storage == .q4)
        #expect(back.cache.rowOffsets == cache.rowOffsets)
        #expect(back.metadata["format_version"] == String(SessionFile.formatVersion))
        for l in [0, 5] {
            let (a, s) = cache.slot(layer: l, token: 699), (b, t) = back.cache.slot(layer: l, token: 699)
            #expect(Array(UnsafeRawBufferPointer(start: a.value(s), count: a.valueRowBytes))
                    == Array(UnsafeRawBufferPointer(start: b.value(t), count: b.valueRowBytes)))
        }
        // A q4 file whose offsets were dropped is refused, not read as if uncentered.
        let file = try SafetensorsFile(path: url.path)
        let stripped = dir.appendingPathComponent("stripped.safetensors")
        try rewrite(file, version: SessionFile.formatVersion, dropping: "layers.4.key_offsets", to: stripped)
        #expect(throws: SessionFileError.self) { try SessionFile.read(path: stripped.path, fingerprint: "m", layers: Self.gemma) }
    }

    /// A version 2 q4 file (the old layout, no `q4_layout`) is refused with a message saying so;
    /// a version 2 f16 file still reads.
    @Test func versionTwoQ4FilesAreRefused() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for storage in [KVStorage.q4, .f16] {
            let cache = SequenceKVCache(configuration: KVCacheConfiguration(layers: Self.smollm, storage: storage, blockTokens: 16,
                                                                            contextLength: 256))
            try Self.fill(cache, tokens: 20)
            let url = dir.appendingPathComponent("v3.safetensors"), old = dir.appendingPathComponent("v2.safetensors")
            try SessionFile.write(cache: cache, tokens: Array(repeating: 5, count: 20), fingerprint: "m", to: url)
            #expect((try SafetensorsFile(path: url.path)).metadata["q4_layout"] == (storage == .q4 ? Q4Layout.current.description : nil))
            try rewrite(try SafetensorsFile(path: url.path), version: 2, droppingMetadata: "q4_layout", to: old)
            if storage == .q4 {
                #expect { try SessionFile.read(path: old.path, fingerprint: "m", layers: Self.smollm) } throws: { error in
                    "\(error)".contains("old layout") && "\(error)".contains("re-create")
                }
            } else {
                #expect(try SessionFile.read(path: old.path, fingerprint: "m", layers: Self.smollm).cache.count == 20)
            }
        }
    }

    /// Balanced keys: scales come from the batch's keys and queries, and a score computed as
    /// attention computes it (query times the scales, rotated, against the stored row) is the
    /// exact score of the centered key within the 4-bit error. The first token's rows are
    /// also kept exactly, in the stored (transformed) form.
    @Test func balancedKeysKeepScoresAndExactFirstRows() throws {
        let layout = Q4Layout.current
        try #require(layout.balance != nil && layout.exactTokens > 0)
        let shape = KVLayerShape(kvHeads: 1, keyLength: 64, valueLength: 64)
        let cache = SequenceKVCache(configuration: KVCacheConfiguration(layers: [shape], storage: .q4, contextLength: 256))
        let n = 40, heads = 2
        let keys = (0..<n).flatMap { Self.row($0, width: 64) }, values = (0..<n).flatMap { Self.row($0 + 500, width: 64) }
        var queries = [Float](repeating: 0, count: n * heads * 64)
        for i in queries.indices {
            let t = i / (heads * 64), j = i % (heads * 64)
            let size: Float = j % 64 < 8 ? 3 : 0.3
            queries[i] = cosf(Float(t * 13 + j * 7)) * size
        }
        try cache.reserve(n)
        cache.calibrate(layer: 0, keys: keys, keyStride: 64, values: values, valueStride: 64, rows: n,
                        queries: queries, queryStride: heads * 64, heads: heads)
        for i in 0..<n {
            keys.withUnsafeBufferPointer { cache.writeKey(layer: 0, batchIndex: i, $0.baseAddress! + i * 64) }
            values.withUnsafeBufferPointer { cache.writeValue(layer: 0, batchIndex: i, $0.baseAddress! + i * 64) }
        }
        cache.commit()
        let offsets = try #require(cache.rowOffsets[0])
        #expect(offsets.keyScales.count == 64 && offsets.keyScales.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(Set(offsets.keyScales).count > 1, "scales differ between channels")
        let exact = try #require(cache.exactRows)
        var worst: Float = 0
        for t in 0..<n {
            let (block, s) = cache.slot(layer: 0, token: t)
            var stored = [Float](repeating: 0, count: 64)
            layout.keys.dequantize(block.key(s), count: 64, into: &stored)
            var q = [Float](repeating: 0, count: 64)
            var truth: Float = 0, norm2: Float = 0
            for j in 0..<64 {
                let qj = queries[t * heads * 64 + j]
                q[j] = qj * offsets.keyScales[j]
                truth += qj * (keys[t * 64 + j] - offsets.keys[j])
                norm2 += qj * qj
            }
            q.withUnsafeMutableBufferPointer { hadamardRotate($0.baseAddress!, count: 64) }
            var score: Float = 0
            for j in 0..<64 { score += q[j] * stored[j] }
            worst = max(worst, abs(score - truth) / norm2.squareRoot())
            if t == 0 {
                let e = exact.key(layer: 0, token: 0)
                var transformed = [Float](repeating: 0, count: 64)
                for j in 0..<64 { transformed[j] = (keys[j] - offsets.keys[j]) / offsets.keyScales[j] }
                transformed.withUnsafeMutableBufferPointer { hadamardRotate($0.baseAddress!, count: 64) }
                for j in 0..<64 { #expect(abs(Float(e[j]) - transformed[j]) <= 2e-3 * max(1, abs(transformed[j]))) }
            }
        }
        #expect(worst < 0.5, "largest score error per unit query norm \(worst)")
    }

    /// A version 1 file (written before q4 existed: the same layout, no offsets) still reads.
    @Test func versionOneFilesStillRead() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = SequenceKVCache(configuration: KVCacheConfiguration(layers: Self.smollm, storage: .f16, blockTokens: 16,
                                                                        contextLength: 256))
        try Self.fill(cache, tokens: 20)
        let url = dir.appendingPathComponent("v2.safetensors"), old = dir.appendingPathComponent("v1.safetensors")
        try SessionFile.write(cache: cache, tokens: Array(repeating: 5, count: 20), fingerprint: "m", to: url)
        try rewrite(try SafetensorsFile(path: url.path), version: 1, to: old)
        let back = try SessionFile.read(path: old.path, fingerprint: "m", layers: Self.smollm)
        #expect(back.metadata["format_version"] == "1")
        #expect(back.cache.count == 20 && back.cache.rowOffsets.allSatisfy { $0 == nil })
        try rewrite(try SafetensorsFile(path: url.path), version: 4, to: old)
        #expect(throws: SessionFileError.self) { try SessionFile.read(path: old.path, fingerprint: "m", layers: Self.smollm) }
    }

    /// Rewrites a session file with another format version (and without `dropping`), its
    /// checksum recomputed as `SessionFile` documents it.
    func rewrite(_ file: SafetensorsFile, version: Int, dropping: String? = nil, droppingMetadata: String? = nil,
                 setting: [String: String] = [:], to url: URL) throws {
        var meta = file.metadata
        meta["checksum_xxh64"] = nil
        if let droppingMetadata { meta[droppingMetadata] = nil }
        meta.merge(setting) { $1 }
        meta["format_version"] = String(version)
        var w = SafetensorsWriter(metadata: meta)
        for e in file.entries where e.name != dropping {
            w.add(e.name, dtype: e.dtype, shape: e.shape, bytes: file.withBytes(of: e) { Array($0) })
        }
        let (_, data) = try w.encode()
        let canonical = meta.keys.sorted().map { "\($0)=\(meta[$0]!)\n" }.joined()
        meta["checksum_xxh64"] = String(XXH64.hash(data, seed: XXH64.hash(Array(canonical.utf8))), radix: 16)
        w.metadata = meta
        try w.write(to: url)
    }
}
