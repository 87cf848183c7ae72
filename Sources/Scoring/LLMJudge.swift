import Foundation
import Providers

/// The result of asking the judge once: a verdict, or the error that prevented one.
/// An error is never a score: averages skip it and count it (see `JudgeSummary`).
public enum JudgeOutcome: Sendable, Equatable {
    case verdict(JudgeVerdict, cached: Bool)
    case error(String)

    public var verdict: JudgeVerdict? { if case .verdict(let v, _) = self { v } else { nil } }
}

public enum JudgeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The judge's backend is not configured, e.g. no API key.
    case unavailable(String)

    public var description: String {
        switch self {
        case .unavailable(let reason):
            "the judge cannot run: \(reason) (set the key in the environment or the config file, or choose another --judge model)"
        }
    }
}

/// Scores how well a response follows one pole of a conflict by asking a model.
public struct LLMJudge: Sendable {
    public static let defaultModel = "claude-haiku-4.5"

    public let provider: any ChatProvider
    /// The model's name as part of the cache key, so two judges never share answers.
    public let model: String
    public let cache: JudgeCache?
    /// Asks again (sampling at temperature 0.7) when the answer cannot be parsed; transport
    /// failures are retried by the provider's own retry policy first.
    public let attempts: Int

    public init(provider: any ChatProvider, model: String, cache: JudgeCache? = nil, attempts: Int = 3) {
        self.provider = provider
        self.model = model
        self.cache = cache
        self.attempts = max(1, attempts)
    }

    /// A judge for a model alias; fails with a clear reason when its backend has no key.
    public static func make(factory: ProviderFactory, model: String = defaultModel, cache: JudgeCache? = nil) throws(JudgeError) -> LLMJudge {
        do {
            return LLMJudge(provider: try factory.provider(named: model), model: model, cache: cache)
        } catch let error as ProviderError {
            if case .notConfigured(let reason) = error { throw .unavailable(reason) }
            throw .unavailable(error.description)
        } catch {
            throw .unavailable("\(error)")
        }
    }

    public static func prompt(response: String, subtype: ConflictSubtype, pole: String) -> String {
        let other = pole == subtype.poles.0 ? subtype.poles.1 : subtype.poles.0
        return """
            You are grading writing style. Rate how well the RESPONSE below follows the instruction \
            to be "\(pole.replacingOccurrences(of: "_", with: " "))" (as opposed to \
            "\(other.replacingOccurrences(of: "_", with: " "))"), on the \(subtype.dimension.rawValue) dimension.

            Answer in exactly this format:
            SCORE: <a number from 0.0 (fully \(other)) to 1.0 (fully \(pole))>
            CONFIDENCE: <a number from 0.0 to 1.0>
            REASONING: <one or two sentences>

            RESPONSE:
            <<<
            \(response)
            >>>
            """
    }

    public func judge(response: String, subtype: String, pole: String) async -> JudgeOutcome {
        guard let conflict = ConflictSubtype.named(subtype) else { return .error(ScoringError.unknownSubtype(subtype).description) }
        guard conflict.index(of: pole) != nil else { return .error(ScoringError.unknownPole(subtype: subtype, pole: pole).description) }
        let prompt = Self.prompt(response: response, subtype: conflict, pole: pole)
        let key = JudgeCache.key(model: model, prompt: prompt)
        if let cached = cache?.load(key) { return .verdict(cached, cached: true) }
        var lastProblem = ""
        for attempt in 0..<attempts {
            do {
                // Greedy first; a retry samples, or a deterministic model would repeat itself.
                let request = ChatRequest(messages: [.user(prompt)], maxTokens: 300, temperature: attempt == 0 ? 0 : 0.7)
                let answer = try await provider.complete(request)
                guard let verdict = JudgeVerdict.parse(answer.text) else {
                    lastProblem = "unparseable judge answer: \(answer.text.prefix(120))"
                    continue
                }
                try? cache?.store(verdict, key: key)
                return .verdict(verdict, cached: false)
            } catch let error as ProviderError {
                // The provider has already retried what is worth retrying.
                return .error(error.description)
            } catch {
                return .error("\(error)")
            }
        }
        return .error("\(lastProblem) (after \(attempts) attempts)")
    }
}

/// Averages over verdicts only; errors are counted and listed, never averaged.
public struct JudgeSummary: Sendable, Equatable {
    public var verdicts: Int
    public var errors: Int
    public var meanScore: Double?
    public var errorMessages: [String]

    public init(_ outcomes: [JudgeOutcome]) {
        let scores = outcomes.compactMap(\.verdict).map(\.score)
        verdicts = scores.count
        errors = outcomes.count - scores.count
        meanScore = scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count)
        errorMessages = outcomes.compactMap { if case .error(let message) = $0 { message } else { nil } }
    }

    public var description: String {
        let mean = meanScore.map { String(format: "%.3f", $0) } ?? "n/a"
        return "\(verdicts) scored, mean \(mean); \(errors) errors" + (errors > 0 ? " (first: \(errorMessages[0]))" : "")
    }
}
