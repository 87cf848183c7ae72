import Foundation
import Testing
import KVCache
@testable import Engine
import Tokenizers
import TestSupport

private func greedy(_ n: Int) -> GenerationOptions {
    var o = GenerationOptions(maxTokens: n, sampling: .greedy)
    o.stopAtEndOfGeneration = false
    return o
}

/// What a fresh session fed `tokens` generates next, greedily, when asked the same way as the
/// session under test (`run` with the session's own tokens, which runs the last one again on
/// its own). The same path matters: a one-token forward pass takes another kernel than a
/// batched one, and the last bits of difference can flip a near-tie among greedy choices.
private func freshContinuation(_ engine: Engine, _ tokens: [Int32], _ n: Int) throws -> [Int32] {
    let fresh = engine.makeSession(contextLength: 2048)
    try fresh.append(tokens: tokens)
    return try fresh.run(prompt: tokens, options: greedy(n)) { _ in }.outputIds
}

/// `append`, `rewind` and `prefill` on real models: whatever path a session took to its tokens,
/// it continues exactly like a fresh session fed those tokens.
@Suite(.serialized, .computeBound) struct SessionEditingTests {
    /// Append 700 tokens (longer than Gemma's 512-token sliding window) in two calls, rewind a
    /// little (the cache is cut) and far (Gemma's sliding layers have dropped the keys the kept
    /// tokens need, so they are prefilled again), and check each state against a fresh session.
    @Test(arguments: [TestModels.Name.gemma3, .smollm2])
    func appendAndRewindMatchFreshSessions(_ name: TestModels.Name) throws {
        let engine = try SessionEngines.engine(name)
        let text = try SessionEngines.prompt(engine, count: 700)
        let session = engine.makeSession(contextLength: 2048)
        try session.append(tokens: Array(text[..<600]))
        try session.append(tokens: Array(text[600...]))
        #expect(session.tokens == text)
        #expect(session.cache.count == 700)

        // 650: within the window, nothing to recompute on either model.
        #expect(try session.rewind(to: 650) == 0)
        #expect(session.tokens == Array(text[..<650]))
        #expect(session.cache.count == 650)
        let near = try session.run(prompt: session.tokens, options: greedy(8)) { _ in }
        #expect(near.reusedPromptTokens == 649, "only the last token is run again to get its logits")
        #expect(near.outputIds == (try freshContinuation(engine, Array(text[..<650]), 8)))

        // 100: Gemma's sliding layers now start at token 128, so the 100 kept tokens are re-run.
        let recomputed = try session.rewind(to: 100)
        #expect(recomputed == (name == .gemma3 ? 100 : 0))
        #expect(session.tokens == Array(text[..<100]))
        #expect(session.cache.count == 100)
        #expect(session.cache.nextPosition == 100)
        let far = try session.run(prompt: session.tokens, options: greedy(8)) { _ in }
        #expect(far.outputIds == (try freshContinuation(engine, Array(text[..<100]), 8)))

        // After rewinding, new tokens go on from the kept ones.
        let other = engine.tokenizer.encode(" Nevertheless, the user may", addBOS: false, parseSpecial: false)
        try session.rewind(to: 100)
        try session.append(tokens: Array(other))
        let branched = try session.run(prompt: session.tokens, options: greedy(8)) { _ in }
        // The twin takes the same steps from a fresh 100-token session (its last kept token was
        // re-run alone by `far`, a different kernel than the batch that wrote the others).
        let twin = engine.makeSession(contextLength: 2048)
        try twin.append(tokens: Array(text[..<100]))
        _ = try twin.run(prompt: twin.tokens, options: greedy(8)) { _ in }
        try twin.rewind(to: 100)
        try twin.append(tokens: Array(other))
        #expect(branched.outputIds == (try twin.run(prompt: twin.tokens, options: greedy(8)) { _ in }.outputIds))
    }

    /// A restored Gemma session holds only the window on its sliding layers; rewinding it past
    /// the window prefills the kept tokens from the saved token ids and continues like a fresh
    /// session.
    @Test func restoredGemmaRewindsPastItsWindow() throws {
        let engine = try SessionEngines.engine(.gemma3)
        let text = try SessionEngines.prompt(engine, count: 700)
        let original = engine.makeSession(contextLength: 2048)
        try original.append(tokens: text)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-rewind-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try original.save(to: url)
        let restored = try engine.restoreSession(from: url.path)
        #expect(try restored.rewind(to: 300) == 300)
        #expect(restored.tokens == Array(text[..<300]))
        let out = try restored.run(prompt: restored.tokens, options: greedy(8)) { _ in }
        #expect(out.outputIds == (try freshContinuation(engine, Array(text[..<300]), 8)))
    }

    /// Rewinding to the start empties the session; rewinding past the end is refused.
    @Test func rewindBounds() throws {
        let engine = try SessionEngines.engine(.smollm2)
        let session = engine.makeSession(contextLength: 2048)
        try session.append(tokens: try SessionEngines.prompt(engine, count: 20))
        #expect(throws: EngineError.rewindBeyondEnd(requested: 21, tokens: 20)) { try session.rewind(to: 21) }
        #expect(throws: EngineError.rewindBeyondEnd(requested: -1, tokens: 20)) { try session.rewind(to: -1) }
        #expect(session.tokens.count == 20, "a refused rewind changes nothing")
        #expect(try session.rewind(to: 0) == 0)
        #expect(session.tokens.isEmpty)
        #expect(session.cache.count == 0)
        #expect(session.cache.bytesAllocated == 0)
    }

    /// A generation leaves its last sampled token out of the cache; `prefill` brings the session
    /// up to the whole sequence by running only what is missing, the next turn reuses all of it,
    /// and the result continues like a fresh session fed the same tokens.
    @Test(arguments: [TestModels.Name.gemma3, .smollm2])
    func prefillCompletesAGeneration(_ name: TestModels.Name) throws {
        let engine = try SessionEngines.engine(name)
        let prompt = try SessionEngines.prompt(engine, count: 120)
        let session = engine.makeSession(contextLength: 2048)
        let first = try session.run(prompt: prompt, options: greedy(6)) { _ in }
        #expect(first.sampledIds == first.outputIds)
        #expect(session.tokens == prompt + first.outputIds.dropLast(), "the last sampled token is not run")

        let whole = prompt + first.sampledIds
        #expect(try session.prefill(whole) == whole.count - 1)
        #expect(session.tokens == whole)
        #expect(try session.prefill(whole) == whole.count, "nothing left to run")

        let more = Array(engine.tokenizer.encode(" That is all.", addBOS: false, parseSpecial: false))
        let second = try session.run(prompt: whole + more, options: greedy(6)) { _ in }
        #expect(second.reusedPromptTokens == whole.count)
        #expect(second.outputIds == (try freshContinuation(engine, whole + more, 6)))
    }

    /// A generation that ends at the end-of-generation token reports it in `sampledIds`, so a
    /// saved session can hold it (the next turn's prompt contains it).
    @Test func endOfGenerationTokenIsReported() throws {
        let engine = try SessionEngines.engine(.smollm2)
        let session = engine.makeSession(contextLength: 2048)
        var options = GenerationOptions(maxTokens: 64, sampling: .greedy)
        options.stopAtEndOfGeneration = true
        let prompt = engine.encode(chat: [.user("Say hi.")])
        let s = try session.run(prompt: prompt, options: options) { _ in }
        try #require(s.finishReason == .endOfGeneration, "SmolLM2 answers 'Say hi.' within 64 tokens")
        let eog = try #require(s.endOfGenerationToken)
        #expect(engine.tokenizer.isEndOfGeneration(eog))
        #expect(s.sampledIds == s.outputIds + [eog])
        #expect(!s.outputIds.contains(eog))
    }

    /// The history a chat session saves (rendered without the generation prompt) is a token
    /// prefix of the next turn's prompt on both models' templates, so a restored chat prefills
    /// only the new turn.
    @Test(arguments: [TestModels.Name.gemma3, .smollm2])
    func chatHistoryIsAPrefixOfTheNextPrompt(_ name: TestModels.Name) throws {
        let engine = try SessionEngines.engine(name)
        let history: [ChatMessage] = [.system("Be brief."), .user("What is a cache?"),
                                      .assistant("A place that keeps data close at hand.")]
        let saved = engine.encode(chat: history, addGenerationPrompt: false)
        let next = engine.encode(chat: history + [.user("Why is it useful?")])
        #expect(Array(next.prefix(saved.count)) == saved)
        #expect(next.count > saved.count)
    }
}
