import GGUF
import TensorFormats
import TestSupport
import Testing

@Suite(.computeBound) struct RealModelTests {
    @Test func readsGemma3Header() throws {
        let file = try GGUFFile(path: TestModels.path(for: .gemma3))
        #expect(file.version == 3)
        #expect(file.tensors.count == 236)
        #expect(file.metadata.architecture == "gemma3")
        #expect(file.metadata.int("gemma3.block_count") == 18)
        #expect(file.metadata.int("gemma3.attention.sliding_window") == 512)
        #expect(file.metadata.strings("tokenizer.ggml.tokens")?.count == 262_144)
        let embd = try #require(file.tensor(named: "token_embd.weight"))
        #expect(embd.type == .q8_0)
        #expect(embd.shape == [640, 262_144])
        #expect(file.data(of: embd).count == 262_144 * 640 / 32 * 34)
        #expect(file.data(of: embd).count == embd.byteCount)
    }

    @Test func readsSmolLM2Header() throws {
        let file = try GGUFFile(path: TestModels.path(for: .smollm2))
        #expect(file.metadata.architecture == "llama")
        #expect(file.metadata.string("tokenizer.ggml.pre") == "smollm")
        #expect(file.metadata.strings("tokenizer.ggml.merges")?.count == 48_900)
        #expect(Set(file.tensors.map(\.type)) == [.f32, .q4_1, .q8_0])
        // The last tensor ends inside the file, and the data section is aligned.
        #expect(file.dataOffset % file.alignment == 0)
        let end = file.tensors.map { file.dataOffset + $0.relativeOffset + $0.byteCount }.max()!
        #expect(end <= file.fileSize)
    }
}
