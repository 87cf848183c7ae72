import ArgumentParser
import Engine
import Foundation
import KVCache
import Models

/// `rdic perplexity`: perplexity of a text file as llama.cpp's `llama-perplexity` computes it.
struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity", abstract: "Compute a model's perplexity on a text file (llama-perplexity's method).")

    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "The text file.") var file: String
    @Option(help: "Most chunks to score (default: all).") var chunks: Int?
    @Option(help: "Tokens per prefill batch.") var batch: Int = 512
    @Option(help: "KV compression policy while the text streams through: none, streaming, window (no sinks), random, h2o, snapkv, protect_last_turn:<policy>.")
    var kvPolicy: String?
    @Option(help: "Share of the context the compressed cache may hold (0...1).") var kvKeep: Double?
    @Option(help: "Tokens the compressed cache may hold (instead of --kv-keep).") var kvBudget: Int?
    @Option(help: "Tokens per step when compressing (1: token by token).") var kvStep: Int = 32
    @Option(help: "Attention sinks kept by streaming.") var kvSinks: Int = 4
    @Option(help: "Seed of the random policy.") var kvSeed: UInt64 = 0
    @Option(help: "Newest tokens protect_last_turn keeps whole.") var kvProtect: Int = 64
    @Option(help: "Also run with this KV type (e.g. f16) and report the KL divergence of the --kv-type run's next-token distributions from it.")
    var klBase: String?

    func run() async throws {
        let ctx = engineOptions.ctxOption ?? 512
        let compression = try compressionSetting(context: ctx)
        // Read before the model loads: a wrong path fails at once, with the system's reason.
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) else { throw TextFileError(path: file, reason: "no such file") }
        guard !isFolder.boolValue else { throw TextFileError(path: file, reason: "it is a folder") }
        guard let data = FileManager.default.contents(atPath: file) else { throw TextFileError(path: file, reason: "not readable") }
        let engine = try await engineOptions.loadEngine()
        let text = String(decoding: data, as: UTF8.self)
        let tokens = engine.tokenizer.encode(text, addBOS: nil, parseSpecial: false)
        let bos = engine.tokenizer.addsBOS ? engine.tokenizer.bos : nil
        FileHandle.standardOutput.write(Data("perplexity: \(tokens.count) tokens, ctx \(ctx), \(tokens.count / ctx) chunks\n".utf8))
        let storage = try engineOptions.kv.storage()
        let bits = engine.model.cacheConfiguration(contextLength: ctx, storage: storage).bitsPerElement(tokens: ctx)
        print(String(format: "kv %@: %.3f bits per element at %d tokens (scales, offsets and exact rows counted)",
                     storage.description, bits, ctx))
        if let compression {
            print("kv policy \(compression.policy), budget \(compression.budget) tokens, step \(compression.step)")
        }
        let start = Date()
        if let klBase {
            guard compression == nil else { throw ValidationError("--kl-base does not combine with --kv-policy") }
            guard let baseType = KVElementType(rawValue: klBase) else {
                throw ValidationError("--kl-base must be one of \(KVElementType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let test = try engineOptions.kv.storage()
            let r = try Perplexity.compare(model: engine.model, tokens: tokens, context: ctx, bos: bos,
                                           base: KVStorage(baseType, rotation: test.rotation), test: test,
                                           batchSize: batch, maxChunks: chunks) { r in
                FileHandle.standardOutput.write(Data(String(format: "[%d]%.4f/%.4f,", r.test.chunks, r.test.perplexity,
                                                            r.base.perplexity).utf8))
            }
            FileHandle.standardOutput.write(Data("\n".utf8))
            print(String(format: "PPL(%@) = %.4f, PPL(%@) = %.4f, ratio %.4f", test.description, r.test.perplexity, klBase,
                         r.base.perplexity, r.test.perplexity / r.base.perplexity))
            print(String(format: "KL divergence from %@: mean %.6f, median %.6f, 99%% %.6f, max %.6f; same top token %.2f%% (%d tokens, %.1f s)",
                         klBase, r.meanDivergence, r.divergenceQuantile(0.5), r.divergenceQuantile(0.99),
                         r.divergenceQuantile(1), 100 * r.sameTopShare, r.divergences.count, Date().timeIntervalSince(start)))
            return
        }
        let result = try Perplexity.compute(
            model: engine.model, tokens: tokens, context: ctx, bos: bos, kv: try engineOptions.kv.storage(),
            batchSize: batch, maxChunks: chunks, compression: compression
        ) { r in
            FileHandle.standardOutput.write(Data(String(format: "[%d]%.4f,", r.chunks, r.perplexity).utf8))
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        print(String(format: "Final estimate: PPL = %.4f (%d tokens scored in %.1f s)",
                     result.perplexity, result.scoredTokens, Date().timeIntervalSince(start)))
    }

    private func compressionSetting(context: Int) throws -> StreamingCompression? {
        guard let kvPolicy else {
            guard kvKeep == nil && kvBudget == nil else { throw ValidationError("--kv-keep and --kv-budget need --kv-policy") }
            return nil
        }
        let policy = try KVPolicies.named(kvPolicy, sinks: kvSinks, seed: kvSeed, protectedTokens: kvProtect)
        switch (kvKeep, kvBudget) {
        case (let keep?, nil):
            guard keep > 0 && keep <= 1 else { throw ValidationError("--kv-keep must be in (0, 1]") }
            return StreamingCompression(policy: policy, keep: keep, context: context, step: kvStep)
        case (nil, let budget?):
            return StreamingCompression(policy: policy, budget: budget, step: kvStep)
        case (nil, nil): return StreamingCompression(policy: policy, budget: context, step: kvStep)
        default: throw ValidationError("give --kv-keep or --kv-budget, not both")
        }
    }
}

/// The text file to score could not be read.
struct TextFileError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot read \(path): \(reason)" }
}
