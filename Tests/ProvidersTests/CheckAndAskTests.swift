import Foundation
import Testing
@testable import Providers

/// A stand-in for the in-process engine provider, to show the `local` backend plugs in.
struct EchoLocalProvider: ChatProvider {
    var backend: BackendKind { .local }
    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        ChatResponse(model: request.model, text: "ok", stopReason: .endTurn, latency: .milliseconds(3))
    }
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error> {
        AsyncThrowingStream { continuation in
            continuation.yield(.text("ok"))
            continuation.yield(.done(ChatResponse(model: request.model, text: "ok", latency: .milliseconds(3))))
            continuation.finish()
        }
    }
}

/// One fake server playing every backend, routed by path (requests arrive concurrently).
func multiBackendServer(deepSeekStatus: Int = 200, echoKeyInErrors: String? = nil) async throws -> FakeServer {
    try await FakeServer { _, request in
        switch request.path {
        case "/v1/messages":
            if let key = echoKeyInErrors {
                return [.send(HTTPBytes.json(401, BackendWire.anthropic.errorBody("authentication_error", "invalid x-api-key: \(key)")))]
            }
            return request.json["stream"] as? Bool == true
                ? HTTPBytes.stream(BackendWire.anthropic.streamPieces)
                : [.send(HTTPBytes.json(200, BackendWire.anthropic.okBody))]
        case "/chat/completions":
            if let key = echoKeyInErrors {
                return [.send(HTTPBytes.json(500, BackendWire.deepseek.errorBody("server_error", "upstream rejected \(key)")))]
            }
            if deepSeekStatus != 200 {
                return [.send(HTTPBytes.json(deepSeekStatus, BackendWire.deepseek.errorBody(
                    "authentication_error", "Authentication Fails, Your api key: ****6789 is invalid")))]
            }
            return request.json["stream"] as? Bool == true
                ? HTTPBytes.stream(BackendWire.deepSeekReasoningStream)
                : [.send(HTTPBytes.json(200, BackendWire.deepseek.okBody))]
        case "/v1/chat/completions": return [.send(HTTPBytes.json(200, BackendWire.openai.okBody))]
        case "/api/chat": return [.send(HTTPBytes.json(200, BackendWire.ollama.okBody))]
        default: return [.send(HTTPBytes.json(404, #"{"error":"no route"}"#))]
        }
    }
}

func environment(for server: FakeServer, key: String = "sk-test-0123456789") -> [String: String] {
    ["ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": server.baseURL,
     "DEEPSEEK_API_KEY": key, "DEEPSEEK_BASE_URL": server.baseURL,
     "OPENAI_BASE_URL": server.baseURL + "/v1", "OLLAMA_HOST": server.baseURL]
}

let userAlias = "[aliases.local-qwen]\nbackend = \"openai\"\nmodel = \"Qwen/Qwen2.5-0.5B-Instruct\"\n"

func passLine(_ line: String, _ alias: String) -> Bool {
    line.wholeMatch(of: try! Regex("✓ PASS  \(NSRegularExpression.escapedPattern(for: alias))  \\([0-9]+ ms\\)")) != nil
}

@Suite("rdic check and rdic ask logic")
struct CheckAndAskTests {
    @Test("all pass: one line per alias in order, local engine plugged in, exit 0")
    func allPass() async throws {
        let server = try await multiBackendServer()
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            let config = try ProviderConfig.parse(toml: userAlias, environment: environment(for: server))
            let factory = ProviderFactory(config: config, transport: transport, local: { _ in EchoLocalProvider() })
            let report = await CheckRunner.run(factory: factory)
            let names = ["claude-haiku-4.5", "claude-sonnet-4.5", "deepseek-r1", "deepseek-v3", "gemma-3-12b", "gemma3-270m", "smollm2-135m", "local-qwen"]
            #expect(report.lines.count == names.count + 1)
            for (line, name) in zip(report.lines, names) { #expect(passLine(line, name), "\(line)") }
            #expect(report.lines.last == "8 passed, 0 failed, 0 skipped")
            #expect(report.exitCode == 0)
            #expect(server.requests.count == 6)  // Every remote alias sent one real request.
            let models = Set(server.requests.compactMap { $0.json["model"] as? String })
            #expect(models == ["claude-haiku-4-5", "claude-sonnet-4-5", "deepseek-reasoner", "deepseek-chat", "gemma3:12b",
                               "Qwen/Qwen2.5-0.5B-Instruct"])
        }
    }

    @Test("some fail: FAIL with status and server message, SKIP with the reason, exit 1")
    func someFail() async throws {
        let server = try await multiBackendServer(deepSeekStatus: 401)
        try await withServer(server) { server, transport in
            var env = environment(for: server)
            env["OPENAI_BASE_URL"] = nil
            env["OLLAMA_HOST"] = nil
            let config = try ProviderConfig.parse(toml: "", environment: env)
            let report = await CheckRunner.run(factory: ProviderFactory(config: config, transport: transport))
            #expect(passLine(report.lines[0], "claude-haiku-4.5"))
            #expect(passLine(report.lines[1], "claude-sonnet-4.5"))
            #expect(Array(report.lines.dropFirst(2)) == [
                "✗ FAIL  deepseek-r1  401 Authentication Fails, Your api key: ****6789 is invalid",
                "✗ FAIL  deepseek-v3  401 Authentication Fails, Your api key: ****6789 is invalid",
                "- SKIP  gemma-3-12b  (OLLAMA_HOST not set)",
                "- SKIP  gemma3-270m  (local engine not available in this build)",
                "- SKIP  smollm2-135m  (local engine not available in this build)",
                "2 passed, 2 failed, 3 skipped",
            ])
            #expect(report.exitCode == 1)
        }
    }

    @Test("a backend that never answers fails its check at the check's own limit")
    func checkLimit() async throws {
        let server = try await FakeServer { _, _ in [.stall] }
        try await withServer(server) { server, transport in
            let config = try ProviderConfig.parse(toml: "", environment: ["DEEPSEEK_API_KEY": "sk-0123456789", "DEEPSEEK_BASE_URL": server.baseURL])
            let report = await CheckRunner.run(factory: ProviderFactory(config: config, transport: transport),
                                               aliases: [try ModelAliases.resolve("deepseek-r1", in: config.aliases)], limit: .milliseconds(300))
            #expect(report.lines == ["✗ FAIL  deepseek-r1  timeout (total)", "0 passed, 1 failed, 0 skipped"])
            #expect(report.exitCode == 1)
        }
    }

    @Test("nothing configured: every alias skipped with its reason, a hint, exit 2, no request sent")
    func nothingConfigured() async throws {
        let config = try ProviderConfig.parse(toml: "", environment: [:])
        let factory = ProviderFactory(config: config, transport: Recorder().transport())
        let report = await CheckRunner.run(factory: factory)
        await factory.shutdown()
        #expect(Array(report.lines.prefix(7)) == [
            "- SKIP  claude-haiku-4.5  (ANTHROPIC_API_KEY not set)",
            "- SKIP  claude-sonnet-4.5  (ANTHROPIC_API_KEY not set)",
            "- SKIP  deepseek-r1  (DEEPSEEK_API_KEY not set)",
            "- SKIP  deepseek-v3  (DEEPSEEK_API_KEY not set)",
            "- SKIP  gemma-3-12b  (OLLAMA_HOST not set)",
            "- SKIP  gemma3-270m  (local engine not available in this build)",
            "- SKIP  smollm2-135m  (local engine not available in this build)",
        ])
        #expect(report.lines.last?.hasPrefix("0 passed, 0 failed, 7 skipped; nothing was checked") == true)
        #expect(report.exitCode == 2)
    }

    @Test("an OpenAI-compatible server: unchecked without a model is listed as SKIP; OPENAI_MODEL makes alias `openai`")
    func openAIServer() async throws {
        let server = try await multiBackendServer()
        try await withServer(server) { server, transport in
            let withoutModel = ProviderFactory(config: try ProviderConfig.parse(toml: "", environment: ["OPENAI_BASE_URL": server.baseURL + "/v1"]),
                                               transport: transport)
            let report = await CheckRunner.run(factory: withoutModel)
            #expect(report.lines.suffix(2) == ["- SKIP  openai  (configured, but no model to check: set OPENAI_MODEL or [openai] model)",
                                               "0 passed, 0 failed, 8 skipped; nothing was checked: set ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, OPENAI_BASE_URL (with OPENAI_MODEL) or OLLAMA_HOST, or write ~/.config/rdic/config.toml"])
            #expect(report.exitCode == 2)
            let withModel = ProviderFactory(config: try ProviderConfig.parse(toml: "", environment: [
                "OPENAI_BASE_URL": server.baseURL + "/v1", "OPENAI_MODEL": "llama-3.2-1b"]), transport: transport)
            let checked = await CheckRunner.run(factory: withModel)
            #expect(passLine(checked.lines[7], "openai"))
            #expect(checked.lines.last == "1 passed, 0 failed, 7 skipped")
            #expect(checked.exitCode == 0)
            #expect(server.requests.last?.json["model"] as? String == "llama-3.2-1b")
        }
    }

    @Test("provider(named:) binds the alias's model id when the request leaves it empty")
    func boundProvider() async throws {
        let server = try await multiBackendServer()
        try await withServer(server) { server, transport in
            let factory = ProviderFactory(config: try ProviderConfig.parse(toml: "", environment: environment(for: server)), transport: transport)
            let judge = try factory.provider(named: "claude-sonnet-4.5")
            #expect(judge.backend == .anthropic)
            let answer = try await judge.complete(ChatRequest(messages: [.user("Score this")], maxTokens: 20))
            #expect(answer.text == BackendWire.anthropic.okText)
            _ = try await judge.complete(ChatRequest(model: "claude-opus-4-1", messages: [.user("Score this")]))
            #expect(server.requests.map { $0.json["model"] as? String } == ["claude-sonnet-4-5", "claude-opus-4-1"])
            #expect(throws: ProviderError.notConfigured("local engine not available in this build")) {
                try factory.provider(named: "gemma3-270m")
            }
        }
    }

    @Test("ask streams the answer; --show-reasoning prints the trace first under a header")
    func askStreams() async throws {
        let server = try await multiBackendServer()
        try await withServer(server) { server, transport in
            let factory = ProviderFactory(config: try ProviderConfig.parse(toml: "", environment: environment(for: server)), transport: transport)
            let out = Locked<[String]>([]), err = Locked<[String]>([])
            let write: @Sendable (String) -> Void = { text in out.withLock { $0.append(text) } }
            let writeErr: @Sendable (String) -> Void = { text in err.withLock { $0.append(text) } }

            var status = await AskRunner.run(AskOptions(model: "deepseek-r1", prompt: "9.11 or 9.8?", showReasoning: true),
                                             factory: factory, out: write, err: writeErr)
            #expect(status == 0)
            #expect(out.current.joined() == "--- reasoning ---\n9.11 < 9.8 since 0.11 < 0.8.\n--- answer ---\n9.8 is greater.\n")
            // Streamed: several writes, not one.
            #expect(out.current.count > 4)

            out.withLock { $0.removeAll() }
            status = await AskRunner.run(AskOptions(model: "deepseek-r1", prompt: "9.11 or 9.8?"), factory: factory, out: write, err: writeErr)
            #expect(status == 0)
            #expect(out.current.joined() == "9.8 is greater.\n")
            #expect(err.current.isEmpty)
            #expect(server.requests.last?.json["stream"] as? Bool == true)
        }
    }

    @Test("ask --json prints one object with text, reasoning, stop reason, usage and latency")
    func askJSON() async throws {
        let server = try await multiBackendServer()
        try await withServer(server) { server, transport in
            let factory = ProviderFactory(config: try ProviderConfig.parse(toml: "", environment: environment(for: server)), transport: transport)
            let out = Locked<[String]>([])
            let status = await AskRunner.run(AskOptions(model: "deepseek-r1", prompt: "9.11 or 9.8?", json: true), factory: factory,
                                             out: { text in out.withLock { $0.append(text) } }, err: { _ in })
            #expect(status == 0)
            #expect(out.current.count == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(out.current.joined().utf8)) as? [String: Any])
            #expect(object["alias"] as? String == "deepseek-r1")
            #expect(object["backend"] as? String == "deepseek")
            #expect(object["model"] as? String == "deepseek-reasoner")
            #expect(object["text"] as? String == "9.8 is greater.")
            #expect(object["reasoning"] as? String == "Compare the tenths: 1 < 8.")
            #expect(object["stop_reason"] as? String == "end_turn")
            #expect((object["usage"] as? [String: Int]) == ["input_tokens": 13, "output_tokens": 120, "reasoning_tokens": 100])
            #expect(object["latency_ms"] is Int)
        }
    }

    @Test("ask: unknown model and unconfigured backend exit 2 with the reason")
    func askErrors() async throws {
        let factory = ProviderFactory(config: try ProviderConfig.parse(toml: "", environment: [:]), transport: Recorder().transport())
        let err = Locked<[String]>([])
        let writeErr: @Sendable (String) -> Void = { text in err.withLock { $0.append(text) } }
        #expect(await AskRunner.run(AskOptions(model: "claude-haiku-4.5", prompt: "Hi"), factory: factory, out: { _ in }, err: writeErr) == 2)
        #expect(err.current.joined() == "error: not configured: ANTHROPIC_API_KEY not set\n")
        #expect(await AskRunner.run(AskOptions(model: "gpt-9", prompt: "Hi"), factory: factory, out: { _ in }, err: writeErr) == 2)
        #expect(err.current.last?.contains("unknown model 'gpt-9'") == true)
        await factory.shutdown()
    }
}
