import Foundation
import Testing
@testable import Providers

/// The key must not escape through output, logs or errors, even when a server echoes it back.
@Suite("API keys never leak")
struct KeyLeakTests {
    static let key = "sk-SECRET-leaky-9f8e7d6c5b4a"

    @Test("a server echoing the key: check lines, ask output, retry logs and errors stay clean")
    func noLeak() async throws {
        let server = try await multiBackendServer(echoKeyInErrors: Self.key)
        let recorder = Recorder()
        try await withServer(server, recorder: recorder) { server, transport in
            var env = environment(for: server, key: Self.key)
            env["OPENAI_API_KEY"] = Self.key
            let config = try ProviderConfig.parse(toml: "", environment: env)
            let factory = ProviderFactory(config: config, transport: transport)
            var seen: [String] = []

            let report = await CheckRunner.run(factory: factory)
            #expect(report.exitCode == 1)
            seen += report.lines
            #expect(report.lines.contains("✗ FAIL  claude-haiku-4.5  401 invalid x-api-key: [REDACTED]"))

            let out = Locked<[String]>([]), err = Locked<[String]>([])
            for options in [AskOptions(model: "claude-haiku-4.5", prompt: "Hi"), AskOptions(model: "deepseek-r1", prompt: "Hi"),
                            AskOptions(model: "deepseek-r1", prompt: "Hi", json: true)] {
                let status = await AskRunner.run(options, factory: factory, out: { text in out.withLock { $0.append(text) } },
                                                 err: { text in err.withLock { $0.append(text) } })
                #expect(status == 1)
            }
            seen += out.current + err.current

            for alias in ["claude-haiku-4.5", "deepseek-r1"] {
                let provider = try factory.provider(for: factory.resolve(alias))
                do {
                    _ = try await provider.complete(ChatRequest(model: "m", messages: [.user("Hi")]))
                    Issue.record("expected an error")
                } catch {
                    seen += [String(describing: error), "\(error)", (error as? ProviderError)?.shortDescription ?? ""]
                }
                let (_, streamError) = await drain(provider.stream(ChatRequest(model: "m", messages: [.user("Hi")])))
                seen.append(String(describing: streamError))
            }
            seen += recorder.logs.current

            #expect(!recorder.logs.current.isEmpty)  // 500s were retried and logged.
            #expect(seen.contains { $0.contains("[REDACTED]") })
            for text in seen { #expect(!text.contains(Self.key), "leaked in: \(text)") }
            // Not vacuous: the key did go to the server, in the headers only.
            #expect(server.requests.contains { $0.header("x-api-key") == Self.key })
            #expect(server.requests.contains { $0.header("authorization") == "Bearer \(Self.key)" })
            #expect(!server.requests.contains { $0.bodyText.contains(Self.key) })
        }
    }

    @Test("config syntax errors do not echo the offending value", arguments: [
        "[anthropic]\napi_key = sk-ant-unquoted-secret-value", "[anthropic]\napi_key = \"ok\" sk-ant-unquoted-secret-value",
    ])
    func configErrorsDoNotEcho(text: String) {
        #expect {
            try ProviderConfig.parse(toml: text, environment: [:])
        } throws: { error in
            "\(error)".contains("line 2") && !"\(error)".contains("sk-ant-unquoted-secret-value")
        }
    }

    @Test("the CLI-facing log sink of ProviderFactory is redacted too")
    func factoryLogRedacted() async throws {
        let server = try await FakeServer(script: [[.send(HTTPBytes.json(500, #"{"error":{"message":"bad key \#(Self.key)"}}"#))],
                                                   [.send(HTTPBytes.json(200, BackendWire.deepseek.okBody))]])
        let logs = Locked<[String]>([])
        var env = environment(for: server, key: Self.key)
        env["ANTHROPIC_API_KEY"] = nil
        var config = try ProviderConfig.parse(toml: "[retry]\ninitial_backoff = 0.001\nmax_backoff = 0.001", environment: env)
        config.retry.maxRetries = 1
        let factory = ProviderFactory(config: config, log: { line in logs.withLock { $0.append(line) } })
        let response = try await factory.provider(for: factory.resolve("deepseek-r1")).complete(ChatRequest(model: "deepseek-reasoner", messages: [.user("Hi")]))
        await factory.shutdown()
        await server.shutdown()
        #expect(response.text == "9.8 is greater.")
        #expect(logs.current.count == 1)
        #expect(logs.current.allSatisfy { !$0.contains(Self.key) && $0.contains("[REDACTED]") })
    }
}
