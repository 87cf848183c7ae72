import Foundation

/// The outcome of checking one alias.
public enum CheckOutcome: Sendable, Equatable {
    case pass(milliseconds: Int)
    case fail(String)
    case skip(String)
}

/// What `rdic check` prints and returns.
public struct CheckReport: Sendable, Equatable {
    public var results: [(alias: String, outcome: CheckOutcome)]
    public var lines: [String]
    /// 0: every configured backend answered. 1: at least one configured backend failed.
    /// 2: nothing was checked (nothing is configured) (so a script's `rdic check && ...` does not proceed blindly).
    public var exitCode: Int32

    public static func == (lhs: CheckReport, rhs: CheckReport) -> Bool {
        lhs.lines == rhs.lines && lhs.exitCode == rhs.exitCode
    }
}

/// `rdic check`: one tiny real request per alias, concurrently, reported in alias order.
public enum CheckRunner {
    /// The request sent: a few tokens, so checking costs next to nothing.
    public static func probe(model: String) -> ChatRequest {
        ChatRequest(model: model, messages: [.user("Reply with the single word: ok")], maxTokens: 16, temperature: 0)
    }

    /// - Parameter limit: the most one alias may take, retries included; a check should
    ///   answer in seconds even when the configured total timeout is minutes long.
    public static func run(factory: ProviderFactory, aliases: [ModelAlias]? = nil,
                           limit: Duration = .seconds(60)) async -> CheckReport {
        let targets = (aliases ?? factory.checkTargets).map(factory.route)
        let outcomes = await withTaskGroup(of: (Int, CheckOutcome).self) { group in
            for (index, alias) in targets.enumerated() {
                group.addTask { (index, await check(alias, factory: factory, limit: limit)) }
            }
            var collected = [CheckOutcome?](repeating: nil, count: targets.count)
            for await (index, outcome) in group { collected[index] = outcome }
            return collected.map { $0 ?? .fail("not run") }
        }
        var results = Array(zip(targets.map(\.name), outcomes))
        if aliases == nil {
            // A configured backend that no alias reaches (typically an OpenAI-compatible server
            // without OPENAI_MODEL) is still listed, so it is not silently left unchecked.
            for backend in BackendKind.allCases where factory.unavailableReason(backend) == nil
                && !targets.contains(where: { $0.backend == backend }) {
                let hint = backend == .openai ? "set OPENAI_MODEL or [openai] model" : "add an alias with backend = \"\(backend.rawValue)\""
                results.append((backend.rawValue, .skip("configured, but no model to check: \(hint)")))
            }
        }
        return report(results, redactor: factory.redactor)
    }

    static func check(_ alias: ModelAlias, factory: ProviderFactory, limit: Duration) async -> CheckOutcome {
        if let reason = factory.unavailableReason(alias.backend) { return .skip(reason) }
        let provider: any ChatProvider
        do {
            provider = try factory.provider(for: alias)
        } catch ProviderError.notConfigured(let reason) {
            return .skip(reason) // e.g. a local model that is not installed
        } catch {
            return .fail(String(describing: error))
        }
        do {
            let response = try await withTimeout(limit, kind: .total) { try await provider.complete(probe(model: alias.model)) }
            return .pass(milliseconds: response.latencyMilliseconds)
        } catch let error as ProviderError {
            return .fail(error.shortDescription)
        } catch {
            return .fail(String(describing: error))
        }
    }

    /// Formats results; every line passes through `redactor` as a last line of defence.
    public static func report(_ results: [(alias: String, outcome: CheckOutcome)], redactor: Redactor) -> CheckReport {
        var lines: [String] = []
        var passed = 0, failed = 0, skipped = 0
        for (alias, outcome) in results {
            switch outcome {
            case .pass(let ms):
                passed += 1
                lines.append("✓ PASS  \(alias)  (\(ms) ms)")
            case .fail(let message):
                failed += 1
                lines.append("✗ FAIL  \(alias)  \(oneLine(message))")
            case .skip(let reason):
                skipped += 1
                lines.append("- SKIP  \(alias)  (\(reason))")
            }
        }
        var summary = "\(passed) passed, \(failed) failed, \(skipped) skipped"
        let exitCode: Int32
        if failed > 0 {
            exitCode = 1
        } else if passed == 0 {
            exitCode = 2
            summary += "; nothing was checked: set ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, OPENAI_BASE_URL (with OPENAI_MODEL) "
                + "or OLLAMA_HOST, or write ~/.config/rdic/config.toml"
        } else {
            exitCode = 0
        }
        lines.append(summary)
        return CheckReport(results: results, lines: lines.map(redactor.redact), exitCode: exitCode)
    }

    /// Server messages can be long or multi-line; a report line must stay one line.
    static func oneLine(_ text: String, limit: Int = 160) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
