import ArgumentParser
import Engine
import Foundation
import Models
import KVCache
import Tokenizers

/// Options shared by the commands that run a model locally.
struct EngineOptions: ParsableArguments {
    @Option(help: "A model name (rdic model list) or a path to a .gguf file. Default: the default model, installed on first use.")
    var model: String?

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("ctx"),
            help: "Context length in tokens (capped at the model's context_length; default \(Engine.defaultContextLength), rdic perplexity 512).")
    var ctxOption: Int?

    /// The context length asked for, or the default (a command with another default reads `ctxOption`).
    var ctx: Int { ctxOption ?? Engine.defaultContextLength }

    @OptionGroup var kv: KVOptions

    @Option(help: "Kernels: fast, or llama-cpp (llama.cpp's x86-64 AVX2 arithmetic operation for operation: decoded tokens and batches under 32 tokens give its floats bit for bit; slower attention).")
    var numerics: Numerics = .fast

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let ctxOption, ctxOption < 1 { throw ValidationError("--ctx must be at least 1") }
    }

    /// Resolves the model (installing the default one on first use) and loads it.
    func loadEngine() async throws -> Engine {
        let path = try await ModelResolution.resolve(model).path
        return try Engine(path: path, threads: threads, contextLength: ctx, kv: try kv.storage(), numerics: numerics)
    }
}

/// How the KV cache stores keys and values (`--kv-type`, or keys and values separately).
struct KVOptions: ParsableArguments {
    @Option(help: "KV cache element type for keys and values: f32, f16, q8_0, q4_0 (llama.cpp's) or q4 (4-bit, centered and rotated: the recommended 4-bit type).")
    var kvType: String = "f16"

    @Option(name: [.customLong("cache-type-k"), .customLong("ctk", withSingleDash: true)],
            help: "Element type of keys (overrides --kv-type).")
    var keyType: String?

    @Option(name: [.customLong("cache-type-v"), .customLong("ctv", withSingleDash: true)],
            help: "Element type of values (overrides --kv-type).")
    var valueType: String?

    @Flag(inversion: .prefixedNo, help: "Hadamard-rotate quantized rows before quantizing (better 4-bit quality).")
    var kvRotation = true

    func storage() throws -> KVStorage {
        func parse(_ name: String, _ flag: String) throws -> KVElementType {
            guard let t = KVElementType(rawValue: name) else {
                throw ValidationError("\(flag) must be one of \(KVElementType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return t
        }
        let both = try parse(kvType, "--kv-type")
        return KVStorage(key: try keyType.map { try parse($0, "--cache-type-k") } ?? both,
                         value: try valueType.map { try parse($0, "--cache-type-v") } ?? both,
                         rotation: kvRotation)
    }

    func validate() throws { _ = try storage() }
}

/// Sampling flags shared by run, chat and generate.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Temperature (0: greedy).") var temperature: Float = 0.8
    @Option(help: "Top-k (0: off).") var topK: Int = 40
    @Option(help: "Top-p (1: off).") var topP: Float = 0.95
    @Option(help: "Min-p (0: off).") var minP: Float = 0.05
    @Option(help: "Repetition penalty (1: off).") var repeatPenalty: Float = 1
    @Option(help: "Presence penalty (0: off).") var presencePenalty: Float = 0
    @Option(help: "Random seed, for reproducible sampling.") var seed: UInt64?
    @Option(help: "Stop when the output contains this text (repeatable).") var stop: [String] = []

    func validate() throws {
        guard temperature >= 0 else { throw ValidationError("--temperature must not be negative") }
        guard topK >= 0 else { throw ValidationError("--top-k must not be negative (0: off)") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1] (1: off)") }
        guard (0...1).contains(minP) else { throw ValidationError("--min-p must be in [0, 1] (0: off)") }
        guard repeatPenalty > 0 else { throw ValidationError("--repeat-penalty must be positive (1: off)") }
        guard presencePenalty.isFinite else { throw ValidationError("--presence-penalty must be a number") }
    }

    var parameters: SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                           repetitionPenalty: repeatPenalty, presencePenalty: presencePenalty, seed: seed)
    }
}

/// `rdic run "prompt"`: one chat turn with the model, streamed to standard output.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Answer a prompt with a local model (chat template applied), streaming the answer.")

    @OptionGroup var engineOptions: EngineOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "Most tokens to generate.") var maxTokens: Int = 512
    @Option(help: "A system prompt.") var system: String?
    @Flag(help: "Print prefill and decode speed to standard error at the end.") var verbose = false

    @Argument(help: "The prompt.") var prompt: String

    func validate() throws { try checkMaxTokens(maxTokens) }

    func run() async throws {
        let engine = try await engineOptions.loadEngine()
        var messages: [ChatMessage] = []
        if let system { messages.append(.system(system)) }
        messages.append(.user(prompt))
        let session = engine.makeSession(contextLength: engineOptions.ctx, kv: try engineOptions.kv.storage())
        var options = GenerationOptions(maxTokens: maxTokens, sampling: sampling.parameters, stopStrings: sampling.stop)
        options.stopAtEndOfGeneration = true
        let summary = try await streamToStdout(session.generate(prompt: engine.encode(chat: messages), options: options))
        FileHandle.standardOutput.write(Data("\n".utf8))
        if verbose { printSpeed(summary) }
    }
}

/// `--max-tokens` of the commands that answer: an answer has at least one token.
func checkMaxTokens(_ n: Int) throws {
    guard n >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
}

/// Writes each token's text as it arrives; returns the final summary.
func streamToStdout(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> GenerationSummary {
    var summary = GenerationSummary()
    for try await event in stream {
        switch event {
        case .token(let t):
            FileHandle.standardOutput.write(Data(t.text.utf8))
        case .finished(let s):
            summary = s
        }
    }
    return summary
}

func printSpeed(_ s: GenerationSummary) {
    let line = String(format: "prefill: %d tokens (%d reused from the cache), %.1f tokens/s; decode: %d tokens, %.1f tokens/s\n",
                      s.prefilledTokens, s.reusedPromptTokens, s.prefillTokensPerSecond, s.decodeTokens, s.decodeTokensPerSecond)
    FileHandle.standardError.write(Data(line.utf8))
}
