import Foundation
import GGUF
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
