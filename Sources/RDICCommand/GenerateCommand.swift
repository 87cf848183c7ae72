import Agents
import ArgumentParser
import Engine
import Foundation

/// `rdic generate`: runs a raw prompt (special tokens parsed, BOS as the metadata says), for
/// scripts and comparisons with llama.cpp; `--json` prints ids, text, log-probs and timings.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Continue a raw prompt (no chat template).")

    @OptionGroup var engineOptions: EngineOptions

    @Option(help: "The raw prompt text.") var prompt: String
    @Option(help: "Most tokens to generate.") var maxTokens: Int = 128
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Report the top K log-probs of each step.") var logprobs: Int = 0
    @Flag(help: "Print one JSON object instead of streaming text.") var json = false
    @Option(help: "Continue the named saved session (see rdic session) and save it afterwards.") var session: String?

    func run() async throws {
        let engine = try await engineOptions.loadEngine()
        let session = try self.session.map { try SessionStore.library.open($0, engine: engine, contextLength: engineOptions.ctx, kv: try engineOptions.kv.storage()) }
            ?? engine.makeSession(contextLength: engineOptions.ctx, kv: try engineOptions.kv.storage())
        let ids = session.tokens.isEmpty ? engine.encode(prompt)
            : session.tokens + engine.tokenizer.encode(prompt, addBOS: false, parseSpecial: true)
        var options = GenerationOptions(
            maxTokens: maxTokens,
            sampling: sampling.parameters, stopStrings: sampling.stop, logprobs: logprobs)
        options.stopAtEndOfGeneration = true
        var steps: [[TokenLogprob]] = []
        var summary = GenerationSummary()
        if json {
            for try await event in session.generate(prompt: ids, options: options) {
                switch event {
                case .token(let t): if t.id >= 0 { steps.append(t.topLogprobs) }
                case .finished(let s): summary = s
                }
            }
        } else {
            summary = try await streamToStdout(session.generate(prompt: ids, options: options))
            FileHandle.standardOutput.write(Data("\n".utf8))
        }
        if let name = self.session {
            // The saved session holds every sampled token (the last one, and the end-of-generation
            // token, are not in the cache after generating), so the next --prompt continues
            // after the whole output; only those one or two tokens are run here. A generation
            // that filled the context keeps what fits.
            try session.prefill(Array((ids + summary.sampledIds).prefix(session.cache.configuration.contextLength)))
            try SessionStore.library.save(session, as: name)
        }
        guard json else { return }
        let output = GenerateOutput(
            prompt_ids: ids, output_ids: summary.outputIds, text: summary.text,
            logprobs: logprobs > 0 ? steps : nil,
            timings: .init(prompt_tokens: summary.promptTokens, reused_prompt_tokens: summary.reusedPromptTokens,
                           prompt_ms: summary.promptSeconds * 1000,
                           decode_tokens: summary.decodeTokens, decode_ms: summary.decodeSeconds * 1000),
            finish_reason: summary.finishReason.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }
}

/// The `--json` object (field names as the issue specifies them).
struct GenerateOutput: Encodable {
    struct Timings: Encodable {
        var prompt_tokens: Int
        /// Prompt tokens found in the session's cache (not prefilled again).
        var reused_prompt_tokens: Int
        var prompt_ms: Double
        var decode_tokens: Int
        var decode_ms: Double
    }
    var prompt_ids: [Int32]
    var output_ids: [Int32]
    var text: String
    var logprobs: [[TokenLogprob]]?
    var timings: Timings
    var finish_reason: String
}
