import Foundation
import GGUF
import KVCache
import Models
import Tokenizers

/// A loaded model with its tokenizer and chat template: the entry point of local generation.
///
/// Weights stay memory-mapped. Sequences live in `Session`s, each with its own KV cache;
/// the model runs one batch at a time (sessions share its thread pool and scratch memory).
public final class Engine: Sendable {
    public let model: Transformer
    public let tokenizer: Tokenizer
    /// The conversation format, when the model has one.
    public let chatTemplate: ChatTemplate?
    public let path: String
    /// Identifies the model file (see `ModelFingerprint`); saved sessions carry it.
    public let fingerprint: String

    /// Loads the GGUF file at `path`. `threads` sizes the worker pool (default: one per core).
    /// Fails before any work when the weights plus a `contextLength` cache do not fit in memory.
    public init(path: String, threads: Int? = nil, contextLength: Int = Engine.defaultContextLength,
                kv: KVStorage = .f16, numerics: Numerics = .fast) throws {
        guard contextLength >= 1 else { throw EngineError.invalidContextLength(contextLength) }
        let file = try GGUFFile(path: path)
        self.path = path
        fingerprint = ModelFingerprint.of(file)
        tokenizer = try Tokenizer(gguf: file)
        chatTemplate = try? ChatTemplate.forModel(metadata: file.metadata)
        model = try Transformer(file: file, threads: threads, numerics: numerics)
        try model.validate(kv)
        try Engine.checkMemory(model: model, contextLength: contextLength, kv: kv)
    }

    /// rdic's default context (tokens); capped at the model's `context_length`.
    public static let defaultContextLength = 32768

    /// Throws `insufficientMemory` when the mapped weights plus a full cache of
    /// `contextLength` tokens exceed the memory the system reports as available.
    public static func checkMemory(model: Transformer, contextLength: Int, kv: KVStorage) throws {
        let ctx = min(contextLength, model.hyperparameters.contextLength)
        let cache = model.cacheConfiguration(contextLength: ctx, storage: kv).bytesNeeded(tokens: ctx)
        let needed = model.weightBytes + cache
        if let available = availableMemory(), needed > available {
            throw ModelError.insufficientMemory(needed: needed, available: available)
        }
    }

    /// `MemAvailable` from /proc/meminfo (nil where there is none).
    static func availableMemory() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }

    /// A new sequence with an empty cache.
    public func makeSession(contextLength: Int = Engine.defaultContextLength, kv: KVStorage = .f16) -> Session {
        Session(engine: self, cache: model.makeCache(contextLength: contextLength, storage: kv))
    }

    /// Token ids of a raw prompt: special-token text parsed, BOS as the metadata says.
    public func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addBOS: nil, parseSpecial: true) }

    /// Token ids of a conversation rendered with the chat template, ending with the assistant's
    /// turn header unless `addGenerationPrompt` is false (then it ends where the next turn's
    /// prompt continues: the history a saved chat session holds).
    public func encode(chat messages: [ChatMessage], addGenerationPrompt: Bool = true) -> [Int32] {
        guard let t = chatTemplate else { return encode(messages.map(\.content).joined(separator: "\n")) }
        return encode(t.render(messages, addGenerationPrompt: addGenerationPrompt))
    }
}

/// What to generate.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int = 256
    public var sampling = SamplingParameters()
    /// Generation stops when the text contains one of these; the stop string is not emitted.
    public var stopStrings: [String] = []
    /// Stop at the model's end-of-generation tokens (from its metadata).
    public var stopAtEndOfGeneration = true
    /// For each generated token, also report the top `logprobs` of the full softmax (0: none).
    public var logprobs = 0
    /// Tokens per prefill batch.
    public var batchSize = 512
    /// The kernels this request runs (nil: the model's default).
    public var numerics: Numerics?

    public init(maxTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(),
                stopStrings: [String] = [], logprobs: Int = 0) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
        self.logprobs = logprobs
    }
}

/// One generated token as it streams out.
public struct GeneratedToken: Sendable {
    public var id: Int32
    /// Text that became complete with this token (may be empty mid-character or while a
    /// possible stop string is held back).
    public var text: String
    /// Top log-probabilities before sampling, when asked for.
    public var topLogprobs: [TokenLogprob]
}

/// Why generation ended.
public enum FinishReason: String, Sendable, Codable {
    case endOfGeneration, maxTokens, stopString, contextFull
}

/// Counts and times of one generation.
public struct GenerationSummary: Sendable {
    public var promptTokens = 0
    /// Prompt tokens that were already in the session's cache (not prefilled again).
    public var reusedPromptTokens = 0
    public var promptSeconds = 0.0
    public var decodeTokens = 0
    public var decodeSeconds = 0.0
    public var finishReason = FinishReason.maxTokens
    /// The generated tokens, without the end-of-generation token that stopped generation.
    public var outputIds: [Int32] = []
    /// The end-of-generation token sampled last, when that is what ended the generation.
    public var endOfGenerationToken: Int32?
    public var text = ""

    public init() {}

    /// Every token sampled, in order: `outputIds` and the end-of-generation token if one ended
    /// the generation. The prompt followed by these is the sequence as the model produced it.
    public var sampledIds: [Int32] { outputIds + (endOfGenerationToken.map { [$0] } ?? []) }

    /// Prompt tokens actually run through the model.
    public var prefilledTokens: Int { promptTokens - reusedPromptTokens }
    public var prefillTokensPerSecond: Double { promptSeconds > 0 ? Double(prefilledTokens) / promptSeconds : 0 }
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0 }
}

/// An event of a generation stream.
public enum GenerationEvent: Sendable {
    case token(GeneratedToken)
    case finished(GenerationSummary)
}
