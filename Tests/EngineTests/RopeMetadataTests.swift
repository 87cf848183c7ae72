import Foundation
import GGUF
import Models
import Testing

/// RoPE and query-scale metadata that converters other than llama.cpp's own write, read as
/// llama.cpp reads them, from header-only GGUF files (no tensors needed for hyper-parameters).
@Suite struct RopeMetadataTests {
    static func hyperparameters(_ extra: [String: GGUFValue], base: GGUFMetadata = gemma3_12B) throws -> Hyperparameters {
        var metadata = base
        for (key, value) in extra { metadata[key] = value }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rope-\(UUID()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUFWriter(metadata: metadata).write(to: url)
        return try Hyperparameters.read(from: GGUFFile(path: url.path))
    }

    @Test func slidingLayersTakeTheirOwnBase() throws {
        let h = try Self.hyperparameters(["gemma3.rope.freq_base_swa": .float32(25_000)])
        #expect(h.slidingRopeBase == 25_000)
        #expect(h.rope(layer: 0).base == 25_000 && h.rope(layer: 5).base == 1_000_000)
        #expect(try Self.hyperparameters([:]).slidingRopeBase == 10_000, "llama.cpp's default when absent")
    }

    @Test func olderScaleLinearKey() throws {
        let h = try Self.hyperparameters(["gemma3.rope.scale_linear": .float32(4)])
        #expect(h.ropeScale == 0.25)
        #expect(h.rope(layer: 5).scale == 0.25 && h.rope(layer: 0).scale == 1, "sliding layers stay unscaled")
        let both = try Self.hyperparameters(["gemma3.rope.scaling.factor": .float32(8), "gemma3.rope.scale_linear": .float32(4)])
        #expect(both.ropeScale == 0.125, "rope.scaling.factor wins over the older key")
    }

    @Test func aFactorWithoutATypeIsLinear() throws {
        #expect(try Self.hyperparameters(["gemma3.rope.scaling.factor": .float32(8)]).ropeScale == 0.125)
        let none = try Self.hyperparameters(["gemma3.rope.scaling.type": .string("none"), "gemma3.rope.scaling.factor": .float32(8)])
        #expect(none.ropeScale == 1, "type none never scales")
        #expect(try Self.hyperparameters([:]).ropeScale == 1)
        var llama = Self.llama
        llama["llama.rope.scaling.factor"] = .float32(2)
        #expect(try Self.hyperparameters([:], base: llama).ropeScale == 0.5)
        #expect(throws: ModelError.self) {
            try Self.hyperparameters(["gemma3.rope.scaling.type": .string("yarn"), "gemma3.rope.scaling.factor": .float32(8)])
        }
    }

    /// Gemma 3 27B's head size (128) is not its query_pre_attn_scalar (d_model / heads = 168).
    @Test func queryScaleFollowsModelSize() throws {
        let twelve = try Self.hyperparameters([:])
        #expect(twelve.queryScale == 1 / Float(256).squareRoot())
        let twentySeven = try Self.hyperparameters([
            "gemma3.block_count": .uint32(62), "gemma3.embedding_length": .uint32(5376),
            "gemma3.attention.head_count": .uint32(32), "gemma3.attention.head_count_kv": .uint32(16),
            "gemma3.attention.key_length": .uint32(128), "gemma3.attention.value_length": .uint32(128),
            "gemma3.feed_forward_length": .uint32(21_504),
        ])
        #expect(twentySeven.queryScale == 1 / Float(168).squareRoot())
        // Another 62-layer shape is not taken for the 27B: its scale is its head size's.
        let other = try Self.hyperparameters(["gemma3.block_count": .uint32(62)])
        #expect(other.queryScale == 1 / Float(256).squareRoot())
    }

    /// Gemma 3 12B's header without its RoPE scaling, so each test sets only what it checks.
    static let gemma3_12B: GGUFMetadata = {
        var metadata = ModelSummaryTests.gemma3_12B
        metadata["gemma3.rope.scaling.type"] = nil
        metadata["gemma3.rope.scaling.factor"] = nil
        return metadata
    }()

    static let llama = GGUFMetadata([
        "general.architecture": .string("llama"),
        "llama.context_length": .uint32(8192),
        "llama.embedding_length": .uint32(576),
        "llama.block_count": .uint32(30),
        "llama.feed_forward_length": .uint32(1536),
        "llama.attention.head_count": .uint32(9),
        "llama.attention.head_count_kv": .uint32(3),
        "llama.attention.layer_norm_rms_epsilon": .float32(1e-5),
    ])
}
