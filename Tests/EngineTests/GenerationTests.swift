import Engine
import Foundation
import KVCache
import Models
import Testing
import TestSupport
import Tokenizers

/// The generation layer on the real SmolLM2 model: streaming, stop conditions, seeds, and a
/// multi-turn session that prefills only the new turn.
@Suite(.serialized, .computeBound) struct GenerationTests {
    static let engine = Result { try Engine(path: TestModels.path(for: .smollm2), threads: 2, contextLength: 4096) }

    @Test func greedyStreamMatchesReferenceAndText() async throws {
        let engine = try Self.engine.get()
        let ref = try ReferencePrompt.load("smollm2-135m/greedy.jsonl").first { $0.name == "raw_count" }!
        let session = engine.makeSession(contextLength: 4096)
        let (tokens, summary) = try await collect(session.generate(
            prompt: ref.promptIds, options: GenerationOptions(maxTokens: 8, sampling: .greedy, logprobs: 3)))
        #expect(summary.outputIds == Array(ref.outputIds.prefix(8)))
        #expect(summary.finishReason == .maxTokens)
        #expect(tokens.map(\.text).joined() == summary.text)
        #expect(summary.text == (try engine.tokenizer.decode(summary.outputIds)))
        #expect(tokens.allSatisfy { $0.topLogprobs.count == 3 })
        #expect(summary.promptTokens == ref.promptIds.count && summary.decodeTokens == 8)
    }

    @Test func seedsReproduceAndStopStringsCut() async throws {
        let engine = try Self.engine.get()
        let prompt = engine.encode("Once upon a time")
        var options = GenerationOptions(maxTokens: 12, sampling: SamplingParameters(temperature: 1, seed: 7))
        let a = try await collect(engine.makeSession().generate(prompt: prompt, options: options)).1
        let b = try await collect(engine.makeSession().generate(prompt: prompt, options: options)).1
        #expect(a.outputIds == b.outputIds)
        // Stop at the first character the seeded run produced after its first word.
        let words = a.text.split(separator: " ")
        if words.count >= 3 {
            options.stopStrings = [String(words[1])]
            let c = try await collect(engine.makeSession().generate(prompt: prompt, options: options)).1
            #expect(c.finishReason == .stopString)
            #expect(!c.text.contains(String(words[1])))
        }
    }

    @Test func chatTurnsReuseTheCache() async throws {
        let engine = try Self.engine.get()
        let session = engine.makeSession(contextLength: 4096)
        var messages: [ChatMessage] = [.user("What is the capital of France?")]
        let first = try await collect(session.generate(prompt: engine.encode(chat: messages),
                                                       options: GenerationOptions(maxTokens: 16, sampling: .greedy))).1
        #expect(first.finishReason == .endOfGeneration || first.finishReason == .maxTokens)
        let cachedBefore = session.tokens.count
        messages.append(.assistant(first.text))
        messages.append(.user("And of Italy?"))
        let prompt2 = engine.encode(chat: messages)
        let second = try await collect(session.generate(prompt: prompt2, options: GenerationOptions(maxTokens: 16, sampling: .greedy))).1
        // Only the tokens after the common prefix were prefilled: the whole first turn was reused.
        #expect(second.promptTokens == prompt2.count)
        #expect(second.reusedPromptTokens >= engine.encode(chat: [messages[0]]).count)
        #expect(second.reusedPromptTokens <= cachedBefore)
        // ...and the answer is a fresh session's. Not necessarily to the last token: the first
        // answer's cache rows were decoded one token at a time, a fresh session prefills them
        // as a batch, and the two paths add attention's terms in different orders, so a
        // near-tie late in the answer may go either way (here it did at token 14 once the
        // batch path's softmax changed its summation order).
        let fresh = try await collect(engine.makeSession(contextLength: 4096).generate(
            prompt: prompt2, options: GenerationOptions(maxTokens: 16, sampling: .greedy))).1
        #expect(second.outputIds.count == fresh.outputIds.count)
        #expect(Array(second.outputIds.prefix(8)) == Array(fresh.outputIds.prefix(8)))
    }

    @Test func promptLongerThanContextIsAnError() async throws {
        let engine = try Self.engine.get()
        let session = engine.makeSession(contextLength: 8)
        let stream = session.generate(prompt: Array(repeating: 1, count: 20), options: GenerationOptions(maxTokens: 1))
        await #expect(throws: ModelError.promptTooLong(tokens: 20, context: 8)) { _ = try await collect(stream) }
    }

    /// A context of no tokens is refused when the engine is made, not trapped on later.
    @Test func emptyContextIsAnError() throws {
        for n in [0, -4] {
            #expect(throws: EngineError.invalidContextLength(n)) {
                try Engine(path: TestModels.path(for: .smollm2), threads: 1, contextLength: n)
            }
        }
    }
}

/// A generation's streamed tokens and its summary.
func collect(_ stream: AsyncThrowingStream<GenerationEvent, Error>) async throws -> ([GeneratedToken], GenerationSummary) {
    var tokens: [GeneratedToken] = []
    var summary: GenerationSummary?
    for try await e in stream {
        switch e {
        case .token(let t): tokens.append(t)
        case .finished(let s): summary = s
        }
    }
    return (tokens, try #require(summary))
}
