import Foundation
import Providers
import Testing
import TestSupport
@testable import Scoring

/// The judge against a loopback server speaking Anthropic's Messages API.
@Suite("Scoring: LLM judge")
struct JudgeTests {
    static func message(_ text: String) -> LocalHTTPServer.Response {
        let body: [String: Any] = [
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
            "content": [["type": "text", "text": text]], "stop_reason": "end_turn", "stop_sequence": NSNull(),
            "usage": ["input_tokens": 120, "output_tokens": 30],
        ]
        let data = try! JSONSerialization.data(withJSONObject: body)
        return .init(status: 200, headers: [("Content-Type", "application/json")], body: Array(data))
    }

    static let overloaded = LocalHTTPServer.Response(
        status: 529, headers: [("Content-Type", "application/json")],
        body: Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8))

    /// A judge on a fresh factory whose Anthropic endpoint is `server`, with quick retries.
    static func judge(_ server: LocalHTTPServer, cache: JudgeCache? = nil) throws -> (LLMJudge, ProviderFactory) {
        let toml = "[retry]\nmax_retries = 1\ninitial_backoff = 0.01\nmax_backoff = 0.02\n"
        let config = try ProviderConfig.parse(toml: toml, environment: ["ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.baseURL])
        let factory = ProviderFactory(config: config)
        return (try LLMJudge.make(factory: factory, cache: cache), factory)
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("rdic-judge-\(UUID().uuidString)")
    }

    @Test("a verdict: the prompt goes out as a Messages request, SCORE/CONFIDENCE/REASONING come back")
    func verdict() async throws {
        let server = try LocalHTTPServer { _ in Self.message("SCORE: 0.9\nCONFIDENCE: 0.8\nREASONING: Formal greeting and closing.") }
        defer { server.stop() }
        let (judge, factory) = try Self.judge(server)
        let outcome = await judge.judge(response: "Dear Sir, ...", subtype: "formal_vs_casual", pole: "formal")
        await factory.shutdown()
        #expect(outcome == .verdict(JudgeVerdict(score: 0.9, confidence: 0.8, reasoning: "Formal greeting and closing."), cached: false))
        let request = try #require(server.requests.first)
        #expect(request.path == "/v1/messages")
        #expect(request.headers["x-api-key"] == "sk-ant-test")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect(json["model"] as? String == "claude-haiku-4-5")
        let messages = try #require(json["messages"] as? [[String: Any]])
        let prompt = try #require(messages.first?["content"] as? String)
        #expect(prompt.contains("\"formal\" (as opposed to \"casual\")") && prompt.contains("Dear Sir, ..."))
    }

    @Test("a failing API gives errors with their cause, counted, and the average ignores them")
    func failures() async throws {
        let server = try LocalHTTPServer { _ in Self.overloaded }
        defer { server.stop() }
        let (judge, factory) = try Self.judge(server)
        let failed = await judge.judge(response: "text", subtype: "brief_vs_detailed", pole: "brief")
        await factory.shutdown()
        guard case .error(let cause) = failed else { Issue.record("a failed call produced \(failed)"); return }
        #expect(cause.contains("529") || cause.lowercased().contains("overloaded"))
        #expect(server.requests.count == 2)  // the first try and one retry

        let summary = JudgeSummary([.verdict(JudgeVerdict(score: 0.2, confidence: 1, reasoning: ""), cached: false), failed,
                                    .verdict(JudgeVerdict(score: 0.4, confidence: 1, reasoning: ""), cached: true)])
        #expect(summary.verdicts == 2 && summary.errors == 1)
        #expect(abs(summary.meanScore! - 0.3) < 1e-12)
        #expect(summary.description.contains("1 errors"))
        #expect(JudgeSummary([failed]).meanScore == nil)
    }

    @Test("answers are cached by content hash: asking again sends no request")
    func cache() async throws {
        let server = try LocalHTTPServer { _ in Self.message("SCORE: 0.3\nCONFIDENCE: 0.6\nREASONING: Mostly casual.") }
        defer { server.stop() }
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (judge, factory) = try Self.judge(server, cache: JudgeCache(directory: directory))
        let first = await judge.judge(response: "hey!", subtype: "formal_vs_casual", pole: "formal")
        let second = await judge.judge(response: "hey!", subtype: "formal_vs_casual", pole: "formal")
        let other = await judge.judge(response: "hey!", subtype: "formal_vs_casual", pole: "casual")
        await factory.shutdown()
        #expect(first.verdict == second.verdict && first.verdict?.score == 0.3)
        #expect(second == .verdict(first.verdict!, cached: true))
        #expect(other == .verdict(first.verdict!, cached: false))
        #expect(server.requests.count == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).count == 2)
    }

    @Test("an unparseable answer is asked again, then becomes an error, never a score")
    func unparseable() async throws {
        let server = try LocalHTTPServer { _ in Self.message("I would rather not grade this.") }
        defer { server.stop() }
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (judge, factory) = try Self.judge(server, cache: JudgeCache(directory: directory))
        let outcome = await judge.judge(response: "x", subtype: "serious_vs_humorous", pole: "humorous")
        await factory.shutdown()
        #expect(server.requests.count == 3)
        guard case .error(let cause) = outcome else { Issue.record("got \(outcome)"); return }
        #expect(cause.contains("unparseable") && cause.contains("3 attempts"))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty ?? true)
    }

    @Test("no API key: a clear message naming the variable")
    func noKey() async throws {
        let factory = ProviderFactory(config: try ProviderConfig.parse(toml: "", environment: [:]))
        do {
            _ = try LLMJudge.make(factory: factory)
            Issue.record("made a judge without a key")
        } catch {
            #expect(error.description.contains("ANTHROPIC_API_KEY not set"))
        }
        await factory.shutdown()
    }

    @Test("parsing: markdown, case, scales, clamping")
    func parsing() {
        #expect(JudgeVerdict.parse("**SCORE:** 0.75\n**Confidence**: 0.5\nReasoning: ok")
            == JudgeVerdict(score: 0.75, confidence: 0.5, reasoning: "ok"))
        #expect(JudgeVerdict.parse("score = 8/10\nconfidence = 90%")?.score == 0.8)
        #expect(JudgeVerdict.parse("score = 8/10\nconfidence = 90%")?.confidence == 0.9)
        #expect(JudgeVerdict.parse("SCORE: 7\nCONFIDENCE: 1")?.score == 0.7)
        #expect(JudgeVerdict.parse("SCORE: -0.4")?.score == 0)
        #expect(JudgeVerdict.parse("SCORE: 0.6")?.confidence == 0.5)
        #expect(JudgeVerdict.parse("The score is high") == nil)
    }

    @Test("rule-vs-judge agreement on the golden set, with judge errors counted as undecided")
    func goldenAgreement() async throws {
        let examples = try RuleCheckerTests.golden()
        // A scripted judge: formal-leaning (0.8) unless the response has contractions, and every
        // question on the format dimension fails (the API is overloaded).
        let server = try LocalHTTPServer { request in
            if request.bodyText.contains("on the format dimension") { return Self.overloaded }
            let contractions = request.bodyText.components(separatedBy: "'").count > 2
            return Self.message("SCORE: \(contractions ? 0.2 : 0.8)\nCONFIDENCE: 0.5\nREASONING: scripted")
        }
        defer { server.stop() }
        let (judge, factory) = try Self.judge(server)
        let comparison = await RuleJudgeComparison.run(judge: judge, examples: examples)
        let report = comparison.judge
        await factory.shutdown()
        #expect(report.total == examples.count)
        #expect(report.agreed + report.disagreed.count + report.undecided.count == examples.count)
        let formatExamples = examples.filter { ConflictSubtype.named($0.subtype)?.dimension == .format }
        #expect(report.undecided == formatExamples.map(\.id))
        #expect(server.requests.count == examples.count + formatExamples.count)  // one retry per failure
        #expect(comparison.judgeErrors.count == formatExamples.count)
        #expect(comparison.bothDecided == examples.count - formatExamples.count)
        // Where both decided, the rule checker (right on every example) agrees with the judge
        // exactly where the judge is right.
        #expect(comparison.ruleAgreesWithJudge == report.agreed)
        let rules = await AgreementReport.ruleChecker(examples)
        #expect(comparison.rule == rules)
        print("scripted judge on the golden set:\n\(comparison)")
    }
}

extension JudgeTests {
    @Test("a retry after an unparseable answer samples instead of repeating the greedy request")
    func retrySamples() async throws {
        let server = try LocalHTTPServer { request in
            let json = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any]
            let temperature = json?["temperature"] as? Double ?? -1
            return Self.message(temperature == 0 ? "no idea" : "SCORE: 0.4\nCONFIDENCE: 0.9\nREASONING: sampled")
        }
        defer { server.stop() }
        let (judge, factory) = try Self.judge(server)
        let outcome = await judge.judge(response: "x", subtype: "concise_vs_comprehensive", pole: "concise")
        await factory.shutdown()
        #expect(outcome.verdict == JudgeVerdict(score: 0.4, confidence: 0.9, reasoning: "sampled"))
        #expect(server.requests.count == 2)
    }
}
