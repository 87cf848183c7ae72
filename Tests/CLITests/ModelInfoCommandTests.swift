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
                     "18.0 KiB per token", "576.0 MiB full, 103.5 MiB sliding-window aware"] {
            #expect(r.stdout.contains(line), "missing: \(line)")
        }
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
        #expect(r.stdout.contains("at 32K tokens    12.0 GiB full, 2.3 GiB sliding-window aware"))
        #expect(r.stdout.contains("at 128K tokens   48.0 GiB full, 8.3 GiB sliding-window aware"))
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
