import Agents
import APIWire
import Engine
import Foundation
import Hummingbird

/// `POST /v1/messages` and `POST /v1/messages/count_tokens`.
struct AnthropicRoutes: Sendable {
    let context: RouteContext

    func messages(_ request: Request) async throws(APIError) -> Response {
        let received = ContinuousClock.now
        let (caller, body) = try await context.admit(request, as: AnthropicMessagesRequest.self) { $0.model }
        let prompt = try context.builder.chatPrompt(try PromptBuilder.messages(system: body.system, body.messages))
        let stops = body.stopSequences ?? []
        let options = try context.builder.options(prompt: prompt.count, maxTokens: body.maxTokens, temperature: body.temperature,
                                                  topP: body.topP, topK: body.topK, seed: nil, stop: stops)
        let agent = try Caller.agent(request, bodyField: body.metadata?.userId)
        let events = try context.generator.start(AgentRequest(tenant: caller.tenant, agent: agent, prompt: prompt, options: options))
        let id = "msg_" + OpenAIRoutes.randomID()
        let model = body.model
        let generator = context.generator

        guard body.stream == true else {
            let result = try await generator.collect(events, received: received)
            return try OpenAIRoutes.json(AnthropicMessagesResponse(
                id: id, model: model, content: [.text(result.text)], stopReason: result.summary.finishReason.anthropic,
                stopSequence: generator.matchedStop(result, stops: stops), usage: Self.usage(result.summary)))
        }
        let promptTokens = prompt.count
        return SSEResponse.make { writer in
            let start = AnthropicMessagesResponse(
                id: id, model: model, content: [], stopReason: nil, stopSequence: nil,
                usage: AnthropicUsage(inputTokens: promptTokens, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0))
            try await writer.send(try AnthropicStreamEvent.messageStart(start).frame())
            try await writer.send(try AnthropicStreamEvent.contentBlockStart(index: 0, block: .text("")).frame())
            try await writer.send(try AnthropicStreamEvent.ping.frame())
            do {
                let result = try await generator.run(events, received: received) { token in
                    guard !token.text.isEmpty else { return }
                    try await writer.send(try AnthropicStreamEvent.textDelta(index: 0, text: token.text).frame())
                }
                try await writer.send(try AnthropicStreamEvent.contentBlockStop(index: 0).frame())
                try await writer.send(try AnthropicStreamEvent.messageDelta(
                    stopReason: result.summary.finishReason.anthropic, stopSequence: generator.matchedStop(result, stops: stops),
                    usage: Self.usage(result.summary)).frame())
                try await writer.send(try AnthropicStreamEvent.messageStop.frame())
            } catch let error as SSEWriter.Disconnected {
                throw error
            } catch {
                let apiError = Generator.apiError(error)
                try await writer.send(try AnthropicStreamEvent.error(
                    AnthropicErrorInfo(type: apiError.anthropicType, message: apiError.message)).frame())
            }
        }
    }

    func countTokens(_ request: Request) async throws(APIError) -> Response {
        let (_, body) = try await context.admit(request, as: AnthropicCountTokensRequest.self) { $0.model }
        let messages = try PromptBuilder.messages(system: body.system, body.messages)
        guard !messages.isEmpty else { throw APIError.badRequest("'messages' must not be empty") }
        return try OpenAIRoutes.json(AnthropicCountTokensResponse(inputTokens: context.backend.engine.encode(chat: messages).count))
    }

    /// Prompt = input + cache read: tokens found in the agent's cache are reported as read,
    /// the rest as input (rdic has no separate cache-write step to report).
    static func usage(_ summary: GenerationSummary) -> AnthropicUsage {
        AnthropicUsage(inputTokens: summary.promptTokens - summary.reusedPromptTokens, outputTokens: summary.decodeTokens,
                       cacheCreationInputTokens: 0, cacheReadInputTokens: summary.reusedPromptTokens)
    }
}
