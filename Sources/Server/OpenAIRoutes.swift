import Agents
import APIWire
import Engine
import Foundation
import Hummingbird

/// `POST /v1/chat/completions` and `POST /v1/completions`.
struct OpenAIRoutes: Sendable {
    let context: RouteContext

    /// Internally every logprobs request asks the engine for this many candidates, so the
    /// sampled token's own log-probability is almost always among them.
    static let logprobCandidates = 20

    func chatCompletions(_ request: Request) async throws(APIError) -> Response {
        let received = ContinuousClock.now
        let (caller, body) = try await context.admit(request, as: OpenAIChatRequest.self) { $0.model }
        try RouteContext.requireOneChoice(body.n)
        let top = body.topLogprobs ?? 0
        guard (0...20).contains(top) else { throw APIError.badRequest("top_logprobs must be between 0 and 20 (got \(top))") }
        let wantsLogprobs = body.logprobs == true
        let prompt = try context.builder.chatPrompt(try PromptBuilder.messages(body.messages))
        let options = try context.builder.options(
            prompt: prompt.count, maxTokens: body.tokenLimit, temperature: body.temperature, topP: body.topP,
            seed: body.seed, stop: body.stop?.values ?? [], logprobs: wantsLogprobs ? max(top, Self.logprobCandidates) : 0)
        let agent = try Caller.agent(request, bodyField: body.promptCacheKey)
        let events = try context.generator.start(AgentRequest(tenant: caller.tenant, agent: agent, prompt: prompt, options: options))
        let id = "chatcmpl-" + Self.randomID()
        let created = Int(Date().timeIntervalSince1970)
        let model = body.model
        let context = self.context
        let logprobs: @Sendable (GeneratedToken) -> OpenAITokenLogprob? = { token in
            wantsLogprobs ? context.logprob(token, top: top) : nil
        }

        guard body.stream == true else {
            let result = try await context.generator.collect(events, received: received)
            let choice = OpenAIChatChoice(
                message: OpenAIResponseMessage(role: .assistant, content: result.text),
                finishReason: result.summary.finishReason.openAI,
                logprobs: wantsLogprobs ? OpenAILogprobs(content: result.tokens.compactMap(logprobs)) : nil)
            return try Self.json(OpenAIChatCompletion(id: id, created: created, model: model, choices: [choice],
                                                      usage: Self.usage(result.summary)))
        }
        let includeUsage = body.streamOptions?.includeUsage == true
        let generator = context.generator
        return SSEResponse.make { writer in
            func chunk(_ choices: [OpenAIChatChoice], usage: OpenAIUsage? = nil) throws -> String {
                try SSE.frame(json: OpenAIChatChunk(id: id, created: created, model: model, choices: choices,
                                                    usage: usage, object: "chat.completion.chunk"))
            }
            try await writer.send(try chunk([OpenAIChatChoice(delta: OpenAIResponseMessage(role: .assistant, content: ""))]))
            do {
                let result = try await generator.run(events, received: received) { token in
                    guard !token.text.isEmpty || wantsLogprobs else { return }
                    let choice = OpenAIChatChoice(delta: OpenAIResponseMessage(content: token.text),
                                                  logprobs: logprobs(token).map { OpenAILogprobs(content: [$0]) })
                    try await writer.send(try chunk([choice]))
                }
                try await writer.send(try chunk([OpenAIChatChoice(delta: OpenAIResponseMessage(),
                                                                  finishReason: result.summary.finishReason.openAI)]))
                if includeUsage { try await writer.send(try chunk([], usage: Self.usage(result.summary))) }
            } catch let error as SSEWriter.Disconnected {
                throw error
            } catch {
                let apiError = Generator.apiError(error)
                try await writer.send(SSE.frame(data: String(decoding: apiError.body(.openAI), as: UTF8.self)))
            }
            try await writer.send(SSE.done)
        }
    }

    func completions(_ request: Request) async throws(APIError) -> Response {
        let received = ContinuousClock.now
        let (caller, body) = try await context.admit(request, as: OpenAICompletionRequest.self) { $0.model }
        try RouteContext.requireOneChoice(body.n)
        let prompts = body.prompt.values
        guard prompts.count == 1 else {
            throw APIError.badRequest("prompt must be one string (got an array of \(prompts.count)); send one request per prompt")
        }
        if body.echo == true { throw APIError.badRequest("echo is not supported") }
        let prompt = try context.builder.textPrompt(prompts[0])
        let options = try context.builder.options(prompt: prompt.count, maxTokens: body.maxTokens ?? 16,
                                                  temperature: body.temperature, topP: body.topP, seed: body.seed,
                                                  stop: body.stop?.values ?? [])
        let agent = try Caller.agent(request, bodyField: nil)
        let events = try context.generator.start(AgentRequest(tenant: caller.tenant, agent: agent, prompt: prompt, options: options))
        let id = "cmpl-" + Self.randomID()
        let created = Int(Date().timeIntervalSince1970)
        let model = body.model
        guard body.stream == true else {
            let result = try await context.generator.collect(events, received: received)
            return try Self.json(OpenAICompletion(
                id: id, created: created, model: model,
                choices: [OpenAICompletionChoice(text: result.text, finishReason: result.summary.finishReason.openAI)],
                usage: Self.usage(result.summary)))
        }
        let includeUsage = body.streamOptions?.includeUsage == true
        let generator = context.generator
        return SSEResponse.make { writer in
            func chunk(_ choices: [OpenAICompletionChoice], usage: OpenAIUsage? = nil) throws -> String {
                try SSE.frame(json: OpenAICompletion(id: id, created: created, model: model, choices: choices, usage: usage))
            }
            do {
                let result = try await generator.run(events, received: received) { token in
                    guard !token.text.isEmpty else { return }
                    try await writer.send(try chunk([OpenAICompletionChoice(text: token.text, finishReason: nil)]))
                }
                try await writer.send(try chunk([OpenAICompletionChoice(text: "", finishReason: result.summary.finishReason.openAI)]))
                if includeUsage { try await writer.send(try chunk([], usage: Self.usage(result.summary))) }
            } catch let error as SSEWriter.Disconnected {
                throw error
            } catch {
                try await writer.send(SSE.frame(data: String(decoding: Generator.apiError(error).body(.openAI), as: UTF8.self)))
            }
            try await writer.send(SSE.done)
        }
    }

    static func usage(_ summary: GenerationSummary) -> OpenAIUsage {
        OpenAIUsage(promptTokens: summary.promptTokens, completionTokens: summary.decodeTokens,
                    cachedTokens: summary.reusedPromptTokens)
    }

    static func json<T: Encodable>(_ value: T) throws(APIError) -> Response {
        do { return try Response.json(value) } catch { throw APIError(.internalServerError, "could not encode the response: \(error)") }
    }

    static func randomID() -> String {
        String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24))
    }
}
