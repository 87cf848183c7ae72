import Foundation
import TestSupport
import Testing

/// The official `openai` and `anthropic` Python SDKs against a live `rdic serve` (the real
/// executable on the real model): scripts/sdk_conformance.py, every endpoint, streaming and not,
/// error cases included.
@Suite(.serialized, .computeBound) struct SDKConformanceTests {
    @Test(.enabled(if: PythonSDKs.available, "python3 cannot import openai and anthropic (pip install openai anthropic)"))
    func officialSDKsDriveEveryEndpoint() throws {
        let server = try ServeProcess(arguments: [
            "--model", try TestModels.path(for: .smollm2), "--served-model-name", "smollm2-135m", "--ctx", "2048", "--api-key", "sdk-key-a",
        ], environment: ["RDIC_API_KEYS": "sdk-key-b"])
        let (status, output) = try PythonSDKs.run([
            "--base-url", server.url, "--api-key", "sdk-key-a", "--other-key", "sdk-key-b",
        ])
        let exit = server.terminate()
        #expect(status == 0, "\(output)")
        #expect(output.contains(" 0 failed"), "\(output)")
        #expect(!output.contains("SKIP"), "rdic implements every checked feature:\n\(output)")
        #expect(exit == 0, "rdic serve exits cleanly on SIGTERM")
    }
}

/// rdic's own clients (`rdic ask` over the OpenAI and Anthropic providers, `rdic check`) against
/// a running `rdic serve`.
@Suite(.serialized, .computeBound) struct RDICClientsAgainstServeTests {
    @Test func askAndCheckReachTheServerThroughBothProviders() throws {
        let server = try ServeProcess(arguments: ["--model", try TestModels.path(for: .smollm2), "--served-model-name", "smollm2-135m", "--ctx", "1024", "--api-key", "ask-key"])
        defer { _ = server.terminate() }
        let openAI = ["OPENAI_BASE_URL": server.url + "/v1", "OPENAI_API_KEY": "ask-key", "OPENAI_MODEL": "smollm2-135m",
                      "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "ask-key", "DEEPSEEK_API_KEY": "", "OLLAMA_HOST": ""]
        for model in ["openai:smollm2-135m", "anthropic:smollm2-135m"] {
            let ask = try RDICBinary.run(["ask", "--model", model, "--max-tokens", "8", "--temperature", "0", "Say hello."],
                                         environment: openAI)
            #expect(ask.status == 0, "\(model): \(ask.stderr)")
            #expect(!ask.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(model) answered nothing")
        }
        // Only the OpenAI-compatible backend for check: the built-in Claude aliases name models
        // this server does not serve.
        let check = try RDICBinary.run(["check"], environment: openAI.merging(["ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": ""]) { $1 })
        #expect(check.stdout.contains("PASS"), "\(check.stdout)\(check.stderr)")
        #expect(!check.stdout.contains("FAIL"), "\(check.stdout)")
        #expect(server.terminate() == 0)
    }
}
