import Foundation
import Testing
@testable import Providers

@Suite("TOML, config file, environment and aliases")
struct ConfigTests {
    static let example = """
        # rdic config
        [anthropic]
        api_key = "sk-ant-from-file-000000"
        base_url = "https://gateway.example.com/anthropic"   # a proxy

        [deepseek]
        api_key = 'sk-ds-literal\\not-an-escape'

        [openai]
        base_url = "http://127.0.0.1:8000/v1"

        [ollama]
        host = "gpu-box"

        [timeouts]
        connect = 5
        first_byte = 30.5
        total = 1_200

        [retry]
        max_retries = 4
        initial_backoff = 0.25

        [aliases.qwen-7b]
        backend = "openai"
        model = "Qwen/Qwen2.5-7B-Instruct"

        [aliases."gemma-3-12b"]
        backend = "openai"
        model = "google/gemma-3-12b-it"
        """

    @Test("TOML (TOMLKit): tables, dotted and quoted keys, escapes, numbers, booleans, arrays, comments")
    func tomlValues() throws {
        let value = try TOML.parse("""
            title = "a \\"quoted\\" \\u00e9 # not a comment"
            [server.main]
            port = 8_080
            ratio = -1.5e2
            on = true
            "key with spaces" = 'C:\\path'
            a.b = false
            list = [1, "two"]
            """)
        #expect(value["title"] == .string("a \"quoted\" é # not a comment"))
        let main = try #require(value["server"]?.tableValue?["main"]?.tableValue)
        #expect(main["port"] == .integer(8080))
        #expect(main["ratio"] == .float(-150))
        #expect(main["on"] == .boolean(true))
        #expect(main["key with spaces"] == .string("C:\\path"))
        #expect(main["a"] == .table(["b": .boolean(false)]))
        #expect(main["list"] == .array([.integer(1), .string("two")]))
    }

    @Test("TOML errors name the line and never echo a value", arguments: [
        ("a = 1\nb = [1, 2", 2),
        ("[t]\nx = \"open", 2),
        ("x = 1\nx = 2", 2),
        ("[t]\n[t]", 2),
        ("\n\nkey value", 3),
        ("x = 1 2", 1),
        ("api_key = sk-SECRET-abcdef", 1),
    ])
    func tomlErrors(text: String, line: Int) {
        #expect {
            try TOML.parse(text)
        } throws: { error in
            guard let error = error as? TOMLError else { return false }
            return error.line == line && error.description.hasPrefix("line \(line):") && !error.description.contains("SECRET")
        }
    }

    @Test("a config value of the wrong type is named, with its table and key")
    func wrongTypes() {
        for (text, fragment) in [("[anthropic]\napi_key = [\"a\"]", "anthropic.api_key must be a string, not an array"),
                                 ("[retry]\nmax_retries = 1.5", "retry.max_retries must be an integer"),
                                 ("[timeouts]\ntotal = 1979-05-27", "timeouts.total must be a non-negative number")] {
            #expect { try ProviderConfig.parse(toml: text, environment: [:]) } throws: { error in
                "\(error)".contains(fragment)
            }
        }
    }

    @Test("config file values, defaults, and derived settings")
    func fileValues() throws {
        let config = try ProviderConfig.parse(toml: Self.example, environment: [:])
        #expect(config.anthropic.apiKey == "sk-ant-from-file-000000")
        #expect(config.anthropic.baseURL == "https://gateway.example.com/anthropic")
        #expect(config.deepseek.apiKey == "sk-ds-literal\\not-an-escape")
        #expect(config.deepseek.baseURL == "https://api.deepseek.com")
        #expect(config.openai.isConfigured && config.openai.apiKey == nil)
        #expect(config.ollama.baseURL == "http://gpu-box:11434")
        #expect(config.timeouts == Timeouts(connect: .seconds(5), firstByte: .milliseconds(30_500), total: .seconds(1200)))
        #expect(config.retry.maxRetries == 4 && config.retry.initialBackoff == .milliseconds(250))
        #expect(try ModelAliases.resolve("qwen-7b", in: config.aliases) == ModelAlias(name: "qwen-7b", backend: .openai, model: "Qwen/Qwen2.5-7B-Instruct"))
        // A user alias replaces the built-in of the same name, in place.
        let gemma = try ModelAliases.resolve("gemma-3-12b", in: config.aliases)
        #expect(gemma.backend == .openai && gemma.model == "google/gemma-3-12b-it")
        #expect(config.aliases.map(\.name).prefix(2) == ["claude-haiku-4.5", "claude-sonnet-4.5"])
    }

    @Test("environment variables override the file; empty ones count as unset")
    func environmentWins() throws {
        let config = try ProviderConfig.parse(toml: Self.example, environment: [
            "ANTHROPIC_API_KEY": "sk-ant-from-env-111111", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9999",
            "DEEPSEEK_BASE_URL": "https://api.deepseek.com/v1", "OPENAI_BASE_URL": "", "OLLAMA_HOST": "https://ollama.example.com",
        ])
        #expect(config.anthropic.apiKey == "sk-ant-from-env-111111")
        #expect(config.anthropic.baseURL == "http://127.0.0.1:9999")
        #expect(config.deepseek.baseURL == "https://api.deepseek.com/v1")
        #expect(config.openai.baseURL == "http://127.0.0.1:8000/v1")
        #expect(config.ollama.baseURL == "https://ollama.example.com:443")
    }

    @Test("environment only: what counts as configured, with the reason when not")
    func environmentOnly() throws {
        let empty = try ProviderConfig.parse(toml: "", environment: [:])
        #expect(empty.anthropic.unconfiguredReason == "ANTHROPIC_API_KEY not set")
        #expect(empty.deepseek.unconfiguredReason == "DEEPSEEK_API_KEY not set")
        #expect(empty.openai.unconfiguredReason != nil)
        #expect(empty.ollama.unconfiguredReason == "OLLAMA_HOST not set")
        #expect(empty.anthropic.baseURL == "https://api.anthropic.com")
        let keyOnly = try ProviderConfig.parse(toml: "", environment: ["OPENAI_API_KEY": "sk-proj-123456"])
        #expect(keyOnly.openai.isConfigured && keyOnly.openai.baseURL == "https://api.openai.com/v1")
    }

    @Test("config mistakes are errors naming the key", arguments: [
        ("[anthropic]\nbase-url = \"x\"", "unknown key 'anthropic.base-url'"),
        ("[antropic]\napi_key = \"x\"", "unknown table '[antropic]'"),
        ("[timeouts]\ntotal = \"ten\"", "timeouts.total must be a non-negative number"),
        ("[aliases.x]\nbackend = \"nope\"\nmodel = \"m\"", "aliases.x.backend must be one of"),
        ("[aliases.x]\nbackend = \"openai\"", "aliases.x.model"),
        ("[deepseek]\napi_key = 5", "deepseek.api_key must be a string"),
        ("[openai]\nbase_url = \"a\"\nbase_url = \"b\"", "line 3: Error while parsing key-value pair: cannot redefine existing string 'base_url'"),
    ])
    func configErrors(text: String, fragment: String) {
        #expect {
            try ProviderConfig.parse(toml: text, path: "/x/config.toml", environment: [:])
        } throws: { error in
            "\(error)".hasPrefix("/x/config.toml: ") && "\(error)".contains(fragment)
        }
    }

    @Test("load: a missing default file is fine, a missing --config file is an error")
    func loadFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let none = try ProviderConfig.load(path: nil, environment: ["HOME": directory.path])
        #expect(!none.anthropic.isConfigured)
        #expect(throws: ConfigError.self) { try ProviderConfig.load(path: directory.path + "/absent.toml", environment: [:]) }
        let file = directory.appendingPathComponent("rdic/config.toml")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("[deepseek]\napi_key = \"sk-file-123456\"\n".utf8).write(to: file)
        let found = try ProviderConfig.load(path: nil, environment: ["XDG_CONFIG_HOME": directory.path])
        #expect(found.deepseek.apiKey == "sk-file-123456")
    }

    @Test("aliases: built-ins, backend:model, and unknown names")
    func aliases() throws {
        let builtin = ModelAliases.builtin
        #expect(try ModelAliases.resolve("claude-haiku-4.5", in: builtin) == ModelAlias(name: "claude-haiku-4.5", backend: .anthropic, model: "claude-haiku-4-5"))
        #expect(try ModelAliases.resolve("claude-sonnet-4.5", in: builtin).model == "claude-sonnet-4-5")
        #expect(try ModelAliases.resolve("deepseek-r1", in: builtin) == ModelAlias(name: "deepseek-r1", backend: .deepseek, model: "deepseek-reasoner"))
        #expect(try ModelAliases.resolve("gemma-3-12b", in: builtin).backend == .ollama)
        #expect(try ModelAliases.resolve("gemma3-270m", in: builtin).backend == .local)
        #expect(try ModelAliases.resolve("smollm2-135m", in: builtin) == ModelAlias(name: "smollm2-135m", backend: .local, model: "smollm2-135m"))
        #expect(try ModelAliases.resolve("ollama:llama3.2:1b", in: builtin) == ModelAlias(name: "ollama:llama3.2:1b", backend: .ollama, model: "llama3.2:1b"))
        #expect(throws: ProviderError.self) { try ModelAliases.resolve("gpt-9", in: builtin) }
    }
}
