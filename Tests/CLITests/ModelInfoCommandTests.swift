import Foundation
import GGUF
import TestSupport
import Testing

@Suite(.computeBound) struct ModelInfoCommandTests {
    @Test func printsTheNumbersAUserNeeds() throws {
        let path = try TestModels.path(for: .gemma3)
        let r = try RDICBinary.run(["model", "info", path])
        #expect(r.status == 0, "\(r.stderr)")
        for line in ["Architecture       gemma3", "Layers             18", "Attention heads    4", "KV heads           1",
                     "Head size          256", "Context length     32768", "Sliding window     512 tokens on 15 of 18 layers",
                     "Layer pattern      global layers: 5, 11, 17", "Tensor types       F32 109, Q5_0 81, Q4_K 27, Q8_0 10, Q6_K 9",
                     "18.0 KiB per token", "15 sliding layers of 18 keep only their 512-token window"] {
            #expect(r.stdout.contains(line), "missing: \(line)")
        }
        // Gemma 3 270M: 18 layers x 1 KV head x (256 + 256) f16 values = 18 KiB per token.
        #expect(Self.row("f16", in: r.stdout) == "f16 16.00 103.5 MiB 576.0 MiB 391.5 MiB 2.2 GiB")
    }

    /// The table row of cache type `type`, its cells separated by single spaces.
    static func row(_ type: String, in text: String) -> String? {
        text.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            .first { $0.hasPrefix(type + " ") }
    }

    @Test func headerOnly12B() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("g12b-\(UUID()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        var m = GGUFMetadata()
        for (k, v) in [("general.architecture", GGUFValue.string("gemma3")), ("gemma3.context_length", .uint32(131_072)),
                       ("gemma3.embedding_length", .uint32(3840)), ("gemma3.block_count", .uint32(48)),
                       ("gemma3.feed_forward_length", .uint32(15_360)), ("gemma3.attention.head_count", .uint32(16)),
                       ("gemma3.attention.head_count_kv", .uint32(8)), ("gemma3.attention.key_length", .uint32(256)),
                       ("gemma3.attention.value_length", .uint32(256)), ("gemma3.attention.sliding_window", .uint32(1024)),
                       ("gemma3.attention.layer_norm_rms_epsilon", .float32(1e-6))] { m[k] = v }
        try GGUFWriter(metadata: m).write(to: url)
        let r = try RDICBinary.run(["model", "info", url.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("384.0 KiB per token"))
        // Per token and layer: 8 KV heads x 256 keys and 256 values; 8 global layers keep every
        // token, 40 sliding layers 1024. Window-aware, then every layer full, at 32K and 128K.
        #expect(Self.row("f32", in: r.stdout) == "f32 32.00 4.6 GiB 24.0 GiB 16.6 GiB 96.0 GiB")
        #expect(Self.row("f16", in: r.stdout) == "f16 16.00 2.3 GiB 12.0 GiB 8.3 GiB 48.0 GiB")
        #expect(Self.row("q8_0", in: r.stdout) == "q8_0 8.50 1.2 GiB 6.4 GiB 4.4 GiB 25.5 GiB")
        #expect(Self.row("q4_0", in: r.stdout) == "q4_0 4.50 666.0 MiB 3.4 GiB 2.3 GiB 13.5 GiB")
        #expect(r.stdout.contains("Parameters         unknown"))
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mamba-\(UUID()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUFWriter(metadata: GGUFMetadata(["general.architecture": .string("mamba")])).write(to: url)
        let r = try RDICBinary.run(["model", "info", url.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("unsupported model architecture 'mamba'"))
    }
}
