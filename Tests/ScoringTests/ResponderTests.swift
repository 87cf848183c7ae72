import Foundation
import IFEval
import Providers
import Testing
import TestSupport
@testable import Scoring

/// Generating IFEval responses through the providers layer, against a loopback Anthropic server.
@Suite("Scoring: IFEval responses from a provider")
struct ResponderTests {
    @Test("each prompt asked once, answers appended to the file as they come, a re-run skips answered prompts")
    func respondAndResume() async throws {
        let server = try LocalHTTPServer { request in
            let prompt = (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
                .flatMap { ($0["messages"] as? [[String: Any]])?.first?["content"] as? String } ?? ""
            return JudgeTests.message("answer to: \(prompt.lowercased())")
        }
        defer { server.stop() }
        let config = try ProviderConfig.parse(toml: "", environment: ["ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.baseURL])
        let factory = ProviderFactory(config: config)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-responder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("responses.jsonl")
        let inputs = (1...3).map { IFEvalInput(key: $0, prompt: "Prompt \($0)", instructionIDList: ["change_case:english_lowercase"], kwargs: [[:]]) }
        let responder = IFEvalResponder(provider: try factory.provider(named: "claude-haiku-4.5"), maxTokens: 64)

        let first = try await responder.respond(to: Array(inputs.prefix(2)), file: file)
        #expect(first.map(\.response) == ["answer to: prompt 1", "answer to: prompt 2"])
        let saved = try JSONLines.read(IFEvalResponse.self, from: file)
        #expect(saved == first)
        let all = try await responder.respond(to: inputs, existing: saved, file: file)
        await factory.shutdown()
        #expect(server.requests.count == 3)
        #expect(try JSONLines.read(IFEvalResponse.self, from: file) == all)
        #expect(all.count == 3)

        let result = try IFEvalRun.evaluate(inputs: inputs, responses: all, outputDirectory: directory)
        #expect(result.strict.map(\.followAllInstructions) == [true, true, true])
        #expect(IFEvalRun.report(result).contains("eval_results_loose.jsonl Accuracy Scores:\nprompt-level: 1.0\n"))
    }
}
