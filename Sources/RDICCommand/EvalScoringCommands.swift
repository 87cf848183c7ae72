import ArgumentParser
import Foundation
import Providers
import Scoring

/// Shared options for commands that may ask the LLM judge.
struct JudgeOptions: ParsableArguments {
    @Option(name: .long, help: "Also ask this judge model (alias), e.g. claude-haiku-4.5.")
    var judge: String?

    @Option(name: .long, help: "Judge answer cache (default: ~/.cache/rdic/judge).")
    var cacheDir: String?

    @Option(name: .long, help: "Config file (default: ~/.config/rdic/config.toml).")
    var config: String?

    var cache: JudgeCache {
        JudgeCache(directory: URL(fileURLWithPath: cacheDir ?? NSHomeDirectory() + "/.cache/rdic/judge"))
    }

    /// Runs `body` with a judge when --judge was given; a missing key is a clear error.
    func withJudge<T>(_ body: (LLMJudge?) async throws -> T) async throws -> T {
        guard let judge else { return try await body(nil) }
        let factory = ProviderFactory(config: try ProviderConfig.load(path: config), local: localProviderMaker)
        do {
            let result = try await body(try LLMJudge.make(factory: factory, model: judge, cache: cache))
            await factory.shutdown()
            return result
        } catch {
            await factory.shutdown()
            throw error
        }
    }
}

/// `rdic eval style`: how well one response follows one pole of a conflict.
struct EvalStyleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "style",
        abstract: "Score a response against one pole of a conflict subtype (rule checker, optionally the LLM judge).")

    @Option(name: .long, help: "Conflict subtype, e.g. formal_vs_casual.")
    var subtype: String

    @Option(name: .long, help: "The pole to score, by name (formal) or index (0, 1).")
    var pole: String

    @Argument(help: "File with the response (\"-\" reads standard input).")
    var file: String

    @OptionGroup var judgeOptions: JudgeOptions

    func run() async throws {
        do {
            let text = file == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : try String(contentsOfFile: file, encoding: .utf8)
            let rule = try Int(pole).map { try RuleChecker.score(text, subtype: subtype, pole: $0) }
                ?? RuleChecker.score(text, subtype: subtype, pole: pole)
            print(String(format: "rule score %.3f for %@ (%@)", rule.score, rule.pole, rule.evidence))
            try await judgeOptions.withJudge { judge in
                guard let judge else { return }
                switch await judge.judge(response: text, subtype: subtype, pole: rule.pole) {
                case .verdict(let verdict, let cached):
                    print(String(format: "judge score %.3f, confidence %.2f%@: %@", verdict.score, verdict.confidence,
                                 cached ? " (cached)" : "", verdict.reasoning))
                case .error(let message):
                    print("judge error: \(message)")
                    throw ExitCode(1)
                }
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `rdic eval agreement`: the rule checker (and judge) against a labelled golden set.
struct EvalAgreementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement",
        abstract: "Agreement of the rule checker, and optionally the judge, with a labelled golden set.",
        discussion: "The golden set is a JSON array of {id, subtype, label, response}; label is the pole the response follows.")

    @Option(name: .long, help: "Golden set file.")
    var golden: String

    @OptionGroup var judgeOptions: JudgeOptions

    func run() async throws {
        do {
            let examples = try GoldenExample.load(URL(fileURLWithPath: golden))
            try await judgeOptions.withJudge { judge in
                if let judge {
                    print(await RuleJudgeComparison.run(judge: judge, examples: examples))
                } else {
                    print("rule checker vs labels: \(await AgreementReport.ruleChecker(examples))")
                }
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
