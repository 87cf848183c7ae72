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

    func run() async throws {
        let engine = try await engineOptions.loadEngine()
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let tokens = engine.tokenizer.encode(text, addBOS: nil, parseSpecial: false)
        let ctx = engineOptions.ctx == Engine.defaultContextLength ? 512 : engineOptions.ctx
        let bos = engine.tokenizer.addsBOS ? engine.tokenizer.bos : nil
        FileHandle.standardOutput.write(Data("perplexity: \(tokens.count) tokens, ctx \(ctx), \(tokens.count / ctx) chunks\n".utf8))
        let start = Date()
        let result = try Perplexity.compute(
            model: engine.model, tokens: tokens, context: ctx, bos: bos, kv: try engineOptions.kv.storage(),
            batchSize: batch, maxChunks: chunks
        ) { r in
            FileHandle.standardOutput.write(Data(String(format: "[%d]%.4f,", r.chunks, r.perplexity).utf8))
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        print(String(format: "Final estimate: PPL = %.4f (%d tokens scored in %.1f s)",
                     result.perplexity, result.scoredTokens, Date().timeIntervalSince(start)))
    }
}
