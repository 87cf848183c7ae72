import Agents
import Engine
import Foundation
import TestSupport
import Tokenizers

/// Engines loaded once for the whole suite (2 threads, as the machine has).
enum Engines {
    static let smollm = Result { try Engine(path: TestModels.path(for: .smollm2), threads: 2, contextLength: 4096) }
    static let gemma = Result { try Engine(path: TestModels.path(for: .gemma3), threads: 2, contextLength: 4096) }

    static func get(_ name: TestModels.Name) throws -> Engine {
        switch name {
        case .smollm2: try smollm.get()
        case .gemma3: try gemma.get()
        }
    }
}

/// Greedy options: the same tokens every run, batched or not.
func greedy(_ maxTokens: Int) -> GenerationOptions {
    var o = GenerationOptions(maxTokens: maxTokens, sampling: .greedy)
    o.stopAtEndOfGeneration = false
    return o
}

/// A prompt of `name`'s kind: chat-rendered for SmolLM2, raw text for Gemma's base model.
func prompt(_ engine: Engine, _ text: String) -> [Int32] {
    engine.chatTemplate != nil && engine.model.hyperparameters.architecture == "llama"
        ? engine.encode(chat: [ChatMessage(role: "user", content: text)]) : engine.encode(text)
}

/// What one request produces alone, on a fresh session of its own.
func alone(_ engine: Engine, _ tokens: [Int32], _ options: GenerationOptions) throws -> [Int32] {
    let session = engine.makeSession(contextLength: 4096)
    return try session.run(prompt: tokens, options: options) { _ in }.outputIds
}

func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-\(name)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

let prompts = [
    "Explain what a KV cache is in two sentences.",
    "Write a haiku about the sea.",
    "List three prime numbers and say why they are prime.",
    "What is the capital of France? Answer briefly.",
    "Describe a cat to someone who has never seen one.",
    "Give me a recipe for tea.",
    "Why is the sky blue?",
    "Translate 'good morning' into Spanish and German.",
]
