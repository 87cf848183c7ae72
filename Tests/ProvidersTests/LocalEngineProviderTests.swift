import Engine
import LocalProvider
import Providers
import TestSupport
import Testing
import Tokenizers

/// The local engine answers through the same `ChatProvider` protocol as hosted backends, on the
/// real instruction-tuned model.
@Suite(.computeBound) struct LocalEngineProviderTests {
    @Test func answersThroughTheProtocolLikeTheEngineItself() async throws {
        let engine = try Engine(path: TestModels.path(for: .smollm2), contextLength: 2048)
        let provider = LocalEngineProvider(engine: engine, modelName: "smollm2-135m")
        let request = ChatRequest(messages: [.user("What is the capital of France?")],
                                  maxTokens: 24, temperature: 0)

        var deltas = ""
        var final: ChatResponse?
        for try await event in provider.stream(request) {
            switch event {
            case .text(let t): deltas += t
            case .reasoning: Issue.record("a local model returns no reasoning")
            case .done(let r): final = r
            }
        }
        let response = try #require(final)
        #expect(response.text == deltas)
        #expect(!response.text.isEmpty)
        #expect(response.model == "smollm2-135m")
        #expect(provider.backend == .local)

        // The same conversation through the engine directly gives the same greedy tokens.
        let prompt = engine.encode(chat: [.user("What is the capital of France?")])
        let direct = try engine.makeSession(contextLength: 2048)
            .run(prompt: prompt, options: GenerationOptions(maxTokens: 24, sampling: .greedy)) { _ in }
        #expect(direct.text == response.text)
        #expect(response.usage == TokenUsage(inputTokens: prompt.count, outputTokens: direct.decodeTokens))
        #expect(response.stopReason == (direct.finishReason == .endOfGeneration ? .endTurn : .maxTokens))

        let again = try await provider.complete(request)
        #expect(again.text == response.text, "each request runs in a fresh session")
    }

    @Test func stopSequencesCutTheAnswer() async throws {
        let engine = try Engine(path: TestModels.path(for: .smollm2), contextLength: 2048)
        let provider = LocalEngineProvider(engine: engine, modelName: "smollm2-135m")
        let full = try await provider.complete(ChatRequest(messages: [.user("Count from 1 to 10, separated by commas.")],
                                                           maxTokens: 40, temperature: 0))
        #expect(full.text.contains("5"))
        let cut = try await provider.complete(ChatRequest(messages: [.user("Count from 1 to 10, separated by commas.")],
                                                          maxTokens: 40, temperature: 0, stopSequences: ["5"]))
        #expect(!cut.text.contains("5"))
        #expect(full.text.hasPrefix(cut.text))
        #expect(cut.stopReason == .stopSequence(nil))
    }
}
