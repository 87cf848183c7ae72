import Foundation
import GGUF
import KVCache
import Models
import TestSupport
import Testing

/// KV-cache sizes `rdic model info` reports, checked against the formula written out from
/// metadata: layers x KV heads x (key + value length) x bytes per element, sliding layers
/// capped at their window.
@Suite(.computeBound) struct ModelSummaryTests {
    @Test func gemma3SmallFromItsFile() throws {
        let file = try GGUFFile(path: TestModels.path(for: .gemma3))
        let s = try ModelSummary(file: file)
        let m = file.metadata
        let perLayerToken = m.int("gemma3.attention.head_count_kv")! *
            (m.int("gemma3.attention.key_length")! + m.int("gemma3.attention.value_length")!) * 2
        #expect(s.kvBytesPerToken() == m.int("gemma3.block_count")! * perLayerToken)
        #expect(s.globalLayerIndices == [5, 11, 17])
        let window = m.int("gemma3.attention.sliding_window")!
        #expect(s.kvBytes(context: 32_768, slidingAware: false) == 18 * 32_768 * perLayerToken)
        #expect(s.kvBytes(context: 32_768, slidingAware: true) == (3 * 32_768 + 15 * window) * perLayerToken)
        #expect(s.kvBytes(context: 100, slidingAware: true) == 18 * 100 * perLayerToken)
        #expect(s.parameterCount == file.tensors.reduce(0) { $0 + $1.elementCount })
        #expect(s.parameterCount > 260_000_000 && s.parameterCount < 280_000_000)
    }

    @Test func llamaWithoutWindowIsFullEverywhere() throws {
        let s = try ModelSummary(file: GGUFFile(path: TestModels.path(for: .smollm2)))
        #expect(s.kvBytesPerToken() == 30 * 3 * (64 + 64) * 2)
        #expect(s.kvBytes(context: 32_768, slidingAware: true) == s.kvBytes(context: 32_768, slidingAware: false))
        #expect(s.kvBytesPerToken(.q8_0) == 30 * 3 * (34 + 34) * 2)
    }

    /// Gemma 3 12B's published hyper-parameters in a header-only GGUF (no tensors).
    @Test func gemma3TwelveBillionFromAHeaderOnlyFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gemma3-12b-header-\(UUID()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUFWriter(metadata: Self.gemma3_12B).write(to: url)
        let s = try ModelSummary(file: GGUFFile(path: url.path))
        let h = s.hyperparameters
        #expect(h.layerCount == 48 && h.headCount == 16 && h.kvHeadCount == 8 && h.keyLength == 256)
        #expect(s.globalLayerIndices == [5, 11, 17, 23, 29, 35, 41, 47])
        #expect(h.ropeScale == 0.125)
        #expect(s.kvBytesPerToken() == 393_216)                                   // 384 KiB
        #expect(s.kvBytes(context: 32_768, slidingAware: false) == 12 << 30)      // 12 GiB
        #expect(s.kvBytes(context: 32_768, slidingAware: true) == (8 * 32_768 + 40 * 1024) * 8192)
        #expect(s.kvBytes(context: 131_072, slidingAware: false) == 48 << 30)     // 48 GiB
        #expect(s.kvBytes(context: 131_072, slidingAware: true) == (8 * 131_072 + 40 * 1024) * 8192)
    }

    /// Every cache type's bytes for Gemma 3 12B from its header alone, against the row sizes
    /// written out by hand: per KV head and token, 256 keys and 256 values, as f32 (1024 B
    /// each), f16 (512 B), q8_0 (8 blocks of 32 values + f16 scale = 272 B), q4_0 (8 x 18 =
    /// 144 B); 8 global layers keep every token, 40 sliding layers their 1024-token window.
    @Test func gemma3TwelveBillionTableByCacheType() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gemma3-12b-table-\(UUID()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUFWriter(metadata: Self.gemma3_12B).write(to: url)
        let table = try ModelSummary(file: GGUFFile(path: url.path)).kvMemoryTable()
        let rowBytes = ["f32": 1024, "f16": 512, "q8_0": 272, "q4_0": 144]
        #expect(Set(table.rows.map(\.type)).isSuperset(of: rowBytes.keys))
        for row in table.rows {
            guard let bytes = rowBytes[row.type] else { continue }
            let perLayerToken = 8 * 2 * bytes
            #expect(row.windowed == [(8 * 32_768 + 40 * 1024) * perLayerToken, (8 * 131_072 + 40 * 1024) * perLayerToken], "\(row.type)")
            #expect(row.full == [48 * 32_768 * perLayerToken, 48 * 131_072 * perLayerToken], "\(row.type)")
            #expect(row.bitsPerElement == Double(bytes * 8) / 256, "\(row.type)")
        }
        let f16 = table.rows.first { $0.type == "f16" }!
        #expect(formatBinaryBytes(f16.windowed[0]) == "2.3 GiB")
        #expect(table.slidingLayers == 40 && table.layers == 48 && table.window == 1024)
    }

    /// A cost rule that is not linear in tokens (here: the newest 128 tokens kept in f16, the
    /// rest in q4_0) plugs into the same table.
    @Test func aCustomCostRulePlugsIn() throws {
        let s = try ModelSummary(file: GGUFFile(path: TestModels.path(for: .smollm2)))
        @Sendable func bytes(_ tokens: Int, _ length: Int) -> Int {
            let recent: Int = min(tokens, 128), older: Int = max(0, tokens - 128)
            return recent * 2 * length + older * (length / 32) * 18
        }
        let recent = KVTypeCost(name: "q4_0+f16 window", keyBytes: bytes, valueBytes: bytes)
        let row = s.kvMemoryTable(contexts: [4096], types: [recent, KVTypeCost(KVElementType.q4_0)]).rows
        // 30 layers x 3 KV heads x (keys + values); a 64-element q4_0 row is 2 blocks of 18 bytes.
        let perLayerHead: Int = 2 * (128 * 2 * 64 + (4096 - 128) * 2 * 18)
        let q4PerLayerHead: Int = 2 * 4096 * 2 * 18
        #expect(row[0].windowed == [90 * perLayerHead])
        #expect(row[1].windowed == [90 * q4PerLayerHead])
        #expect(row[0].windowed[0] > row[1].windowed[0])
    }

    static let gemma3_12B = GGUFMetadata([
        "general.architecture": .string("gemma3"),
        "general.name": .string("Gemma 3 12B (header only)"),
        "gemma3.context_length": .uint32(131_072),
        "gemma3.embedding_length": .uint32(3840),
        "gemma3.block_count": .uint32(48),
        "gemma3.feed_forward_length": .uint32(15_360),
        "gemma3.attention.head_count": .uint32(16),
        "gemma3.attention.head_count_kv": .uint32(8),
        "gemma3.attention.key_length": .uint32(256),
        "gemma3.attention.value_length": .uint32(256),
        "gemma3.attention.layer_norm_rms_epsilon": .float32(1e-6),
        "gemma3.attention.sliding_window": .uint32(1024),
        "gemma3.rope.freq_base": .float32(1_000_000),
        "gemma3.rope.scaling.type": .string("linear"),
        "gemma3.rope.scaling.factor": .float32(8),
    ])
}
