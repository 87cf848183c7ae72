import Foundation
import Providers

/// Runs a text-level cell through any chat provider (a hosted API, or a vLLM / SGLang server
/// behind the OpenAI-compatible backend): each thread is a conversation resent in full each
/// turn. Nothing about caches is measured; the server's token counts are recorded.
public struct TextCellRunner: Sendable {
    public let provider: any ChatProvider
    public var system: String?
    public var sampling: ExperimentConfig.Sampling
    public var maxTokens: Int
    public var turnMaxTokens: Int

    public init(provider: any ChatProvider, config: ExperimentConfig) {
        self.provider = provider
        system = config.system
        sampling = config.sampling
        maxTokens = config.maxTokens
        turnMaxTokens = config.turnMaxTokens
    }

    public func run(_ script: CellScript, key: CellKey) async throws -> CellMeasurement {
        var m = CellMeasurement()
        var lastAnswers: [String] = []
        for (index, thread) in script.threads.enumerated() {
            var messages: [ChatMessage] = []
            var answers: [String] = []
            for (turn, text) in thread.userMessages.enumerated() {
                messages.append(.user(text))
                let last = turn == thread.userMessages.count - 1
                let seed = Int(truncatingIfNeeded: UInt64(bitPattern: Int64(sampling.seed))
                               &+ stableHash("\(key.recordID)|\(key.seed)|\(index)|\(turn)"))
                let request = ChatRequest(messages: messages, system: system, maxTokens: last ? maxTokens : turnMaxTokens,
                                          temperature: sampling.temperature, topP: sampling.topP, seed: seed & 0x7FFF_FFFF)
                let started = Date()
                let response = try await provider.complete(request)
                m.decodeSeconds += Date().timeIntervalSince(started)
                answers.append(response.text)
                messages.append(.assistant(response.text))
                m.generatedTokens += response.usage?.outputTokens ?? 0
                m.prefilledTokens += response.usage?.inputTokens ?? 0
                if last { m.promptTokens += response.usage?.inputTokens ?? 0 }
            }
            m.answers.append(answers)
            lastAnswers.append(answers.last ?? "")
        }
        (m.output, m.versions) = script.output(lastAnswers: lastAnswers)
        return m
    }
}
