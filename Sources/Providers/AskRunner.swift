import Foundation

/// What `rdic ask` was asked to do.
public struct AskOptions: Sendable, Equatable {
    public var model: String
    public var prompt: String
    public var system: String?
    public var maxTokens: Int
    public var temperature: Double?
    public var topP: Double?
    public var stop: [String]
    public var seed: Int?
    /// Opt-in reasoning budget (see `ChatRequest.thinkingBudget`).
    public var thinkingBudget: Int?
    /// Print the reasoning trace (streamed before the answer) when the model returns one.
    public var showReasoning: Bool
    /// Print one JSON object instead of streaming text.
    public var json: Bool

    public init(model: String, prompt: String, system: String? = nil, maxTokens: Int = 1024, temperature: Double? = nil,
                topP: Double? = nil, stop: [String] = [], seed: Int? = nil, thinkingBudget: Int? = nil, showReasoning: Bool = false, json: Bool = false) {
        self.thinkingBudget = thinkingBudget
        self.model = model
        self.prompt = prompt
        self.system = system
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.stop = stop
        self.seed = seed
        self.showReasoning = showReasoning
        self.json = json
    }
}

/// `rdic ask`: streams an answer to `out` (errors to `err`) and returns the exit status:
/// 0 answered, 1 the backend failed, 2 the model is unknown or its backend not configured.
public enum AskRunner {
    public static let reasoningHeader = "--- reasoning ---\n"
    public static let answerHeader = "--- answer ---\n"

    public static func run(_ options: AskOptions, factory: ProviderFactory,
                           out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) async -> Int32 {
        let redactor = factory.redactor
        let alias: ModelAlias
        let provider: any ChatProvider
        do {
            alias = try factory.resolve(options.model)
            provider = try factory.provider(for: alias)
        } catch {
            report(error, options: options, redactor: redactor, out: out, err: err)
            return 2
        }
        let request = ChatRequest(model: alias.model, messages: [.user(options.prompt)], system: options.system,
                                  maxTokens: options.maxTokens, temperature: options.temperature, topP: options.topP,
                                  stopSequences: options.stop, seed: options.seed, thinkingBudget: options.thinkingBudget)
        do {
            if options.json {
                let response = try await provider.complete(request)
                out(json(response, alias: alias) + "\n")
                return 0
            }
            var inReasoning = false
            var printedAnything = false
            for try await event in provider.stream(request) {
                switch event {
                case .reasoning(let delta):
                    guard options.showReasoning else { continue }
                    if !inReasoning { out(reasoningHeader); inReasoning = true }
                    out(delta)
                    printedAnything = true
                case .text(let delta):
                    if inReasoning { out("\n" + answerHeader); inReasoning = false }
                    out(delta)
                    printedAnything = true
                case .done:
                    if printedAnything { out("\n") }
                }
            }
            return 0
        } catch {
            if !options.json { out("\n") }
            report(error, options: options, redactor: redactor, out: out, err: err)
            return 1
        }
    }

    static func report(_ error: Error, options: AskOptions, redactor: Redactor,
                       out: @Sendable (String) -> Void, err: @Sendable (String) -> Void) {
        let message = redactor.redact((error as? ProviderError)?.description ?? String(describing: error))
        if options.json {
            out(encode(["error": message, "model": options.model]) + "\n")
        } else {
            err("error: \(message)\n")
        }
    }

    /// The `--json` object: alias, backend, model, text, reasoning (null when none),
    /// stop_reason, usage, latency_ms.
    public static func json(_ response: ChatResponse, alias: ModelAlias) -> String {
        var usage: [String: Any] = [:]
        if let u = response.usage {
            usage = ["input_tokens": u.inputTokens, "output_tokens": u.outputTokens]
            if let r = u.reasoningTokens { usage["reasoning_tokens"] = r }
        }
        let object: [String: Any] = [
            "alias": alias.name, "backend": alias.backend.rawValue, "model": response.model, "text": response.text,
            "reasoning": response.reasoning ?? NSNull(), "stop_reason": response.stopReason?.description ?? NSNull(),
            "usage": response.usage == nil ? NSNull() : usage, "latency_ms": response.latencyMilliseconds,
        ]
        return encode(object)
    }

    static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
