import Engine
import Foundation
import GGUF
@testable import Models
import TensorFormats
import TestSupport
import Testing

/// Synthetic files (`rdic model synthesize`): the real model's shape read back as written, the
/// quantizer's types, weights of a trained layer's spread, and a file the engine runs.
@Suite(.computeBound) struct SyntheticModelTests {
    /// Gemma 3 12B's file as synthesized gives the hyper-parameters of the hand-written header
    /// the KV-size tests use (written separately, from Google's config).
    @Test func twelveBillionShapeReadsAsThePublishedHeader() throws {
        let model = try SyntheticModel(shape: .gemma3_12B, vocabulary: 262_144)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-header-\(UUID()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUFWriter(metadata: model.metadata(tokenizerFrom: GGUFMetadata(), seed: 0)).write(to: url)
        let written = try Hyperparameters.read(from: GGUFFile(path: url.path))
        try GGUFWriter(metadata: ModelSummaryTests.gemma3_12B).write(to: url)
        var published = try Hyperparameters.read(from: GGUFFile(path: url.path))
        // Neither header has tensors; the vocabulary comes from the embeddings' rows.
        published.vocabularySize = written.vocabularySize
        #expect(written == published)
    }

    /// Tensor count and bytes of the 12B plan against llama.cpp's Q4_K_M rule written out:
    /// embeddings Q6_K; value and down projections Q6_K on layers 0-5, 42-47 and 8, 11, ..., 41
    /// (24 layers), Q4_K elsewhere; every other matrix Q4_K; norms f32.
    @Test func twelveBillionPlanIsQ4KM() throws {
        let model = try SyntheticModel(shape: .gemma3_12B, vocabulary: 262_144)
        #expect(model.tensors.count == 1 + 48 * 13 + 1)
        let q6Layers = Set(0..<6).union(42..<48).union(stride(from: 8, through: 41, by: 3))
        #expect(q6Layers.count == 24)
        for (t, type) in zip(model.tensors, model.types) where t.role == .attentionValue || t.role == .feedForwardDown {
            #expect(type == (q6Layers.contains(t.layer!) ? .q6_K : .q4_K), "\(t.name)")
        }
        let q4 = 144.0 / 256, q6 = 210.0 / 256
        let d = 3840.0, ff = 15_360.0, q = 16 * 256.0, kv = 8 * 256.0
        let fixed = (d * q * 2 + d * kv + d * ff * 2) * q4            // q, output, k, gate, up
        let varied = d * kv + ff * d                                    // v, down
        let norms = 4.0 * (4 * d + 2 * 256)
        let expected = 262_144 * d * q6 + 48 * (fixed + norms) + (24 * q6 + 24 * q4) * varied + d * 4
        #expect(Double(model.tensorBytes) == expected)
        #expect(model.parameterCount > 11_700_000_000 && model.parameterCount < 11_800_000_000)
    }

    /// Each block type's weights, decoded: zero mean and a standard deviation of 1/sqrt(fan-in)
    /// (within 15%), so a synthetic layer keeps activations where a trained one does.
    @Test(arguments: [GGMLType.q4_K, .q6_K, .q8_0, .q5_0, .q4_0])
    func blocksHaveATrainedLayersSpread(_ type: GGMLType) throws {
        let fanIn = 1024, count = 256 * 1024
        var random = SplitMix(seed: 3)
        let bytes = SyntheticBlocks.make(type, elements: count, fanIn: fanIn, random: &random)
        var w = [Float](repeating: 0, count: count)
        try bytes.withUnsafeBytes { b in try w.withUnsafeMutableBufferPointer { try dequantize(type, from: b.baseAddress!, count: count, into: $0.baseAddress!) } }
        let mean = w.reduce(0, +) / Float(count)
        let deviation = (w.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(count)).squareRoot()
        let target = 1 / Float(fanIn).squareRoot()
        #expect(abs(mean) < 0.05 * target, "\(type): mean \(mean)")
        #expect(abs(deviation / target - 1) < 0.15, "\(type): deviation \(deviation), target \(target)")
        #expect(w.allSatisfy { $0.isFinite })
    }

    static func smallShape(_ architecture: String) -> ModelShape {
        ModelShape(architecture: architecture, name: "small \(architecture)", layers: 3, embeddingLength: 256,
                   feedForwardLength: 512, heads: 2, kvHeads: 1, headSize: 128, contextLength: 4096,
                   slidingWindow: architecture == "gemma3" ? 16 : nil, slidingPattern: 3, ropeBase: 10_000,
                   ropeScaling: architecture == "gemma3" ? 4 : nil, rmsEpsilon: 1e-6)
    }

    /// A small shape of each architecture, with its family's real tokenizer: the engine loads
    /// the file with the shape's hyper-parameters, greedy decoding repeats itself and its
    /// log-probabilities are finite and not degenerate; the same seed writes the same bytes,
    /// another seed other weights.
    @Test(arguments: [("gemma3", TestModels.Name.gemma3), ("llama", .smollm2)])
    func smallFileRunsInTheEngine(_ architecture: String, _ donorName: TestModels.Name) async throws {
        let donor = try GGUFFile(path: TestModels.path(for: donorName))
        let shape = Self.smallShape(architecture)
        let model = try SyntheticModel(shape: shape, vocabulary: donor.metadata.strings("tokenizer.ggml.tokens")!.count)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (a, b, c) = (dir.appendingPathComponent("a.gguf"), dir.appendingPathComponent("b.gguf"), dir.appendingPathComponent("c.gguf"))
        try model.write(to: a, tokenizerFrom: donor, seed: 1)
        try model.write(to: b, tokenizerFrom: donor, seed: 1)
        try model.write(to: c, tokenizerFrom: donor, seed: 2)
        let (bytesA, bytesB, bytesC) = try (Data(contentsOf: a), Data(contentsOf: b), Data(contentsOf: c))
        #expect(bytesA == bytesB)
        #expect(bytesA.count == bytesC.count && bytesA != bytesC)

        let file = try GGUFFile(path: a.path)
        #expect(file.metadata.bool("rdic.synthetic") == true)
        #expect(file.tensors.map(\.name) == model.tensors.map(\.name))
        let h = try Hyperparameters.read(from: file)
        #expect(h.layerCount == 3 && h.embeddingLength == 256 && h.headCount == 2 && h.kvHeadCount == 1 && h.keyLength == 128)
        if architecture == "gemma3" {
            #expect(h.slidingWindow == 16 && h.slidingLayers == [true, true, false] && h.ropeScale == 0.25)
        } else {
            #expect(h.slidingWindow == nil && h.ropeScale == 1)
        }

        let engine = try Engine(path: a.path, contextLength: 256)
        let prompt = engine.encode(String(repeating: "The weights are random. ", count: 8))
        let options = GenerationOptions(maxTokens: 6, sampling: .greedy, logprobs: 2)
        let (tokens, first) = try await collect(engine.makeSession().generate(prompt: prompt, options: options))
        let second = try await collect(engine.makeSession().generate(prompt: prompt, options: options)).1
        #expect(first.outputIds == second.outputIds && first.outputIds.count == 6)
        for t in tokens {
            #expect(t.topLogprobs.allSatisfy { $0.logprob.isFinite && $0.logprob < 0 })
            // Not a one-hot distribution: random weights spread the probability.
            #expect(t.topLogprobs[0].logprob < -0.01)
        }
    }

    @Test func aTokenizerOfAnotherSizeIsRefused() throws {
        let donor = try GGUFFile(path: TestModels.path(for: .smollm2))
        let model = try SyntheticModel(shape: Self.smallShape("llama"), vocabulary: 1000)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-refused-\(UUID()).gguf")
        #expect(throws: ModelError.self) { try model.write(to: url, tokenizerFrom: donor) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func aShapeTheTypesCannotHoldIsRefused() {
        var shape = Self.smallShape("llama")
        shape.embeddingLength = 320   // not whole 256-element K-quant blocks
        #expect(throws: ModelError.self) { try SyntheticModel(shape: shape, vocabulary: 1000) }
        shape = Self.smallShape("mamba")
        #expect(throws: ModelError.unsupportedArchitecture("mamba")) { try SyntheticModel(shape: shape, vocabulary: 1000) }
    }
}
