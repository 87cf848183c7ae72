import Foundation

/// How to reach one backend, after merging the config file and the environment.
public struct BackendEndpoint: Sendable, Equatable {
    public var kind: BackendKind
    /// The effective base URL (a default when nothing overrides it).
    public var baseURL: String
    public var apiKey: String?
    /// Why the backend cannot be used, or nil when it is configured.
    public var unconfiguredReason: String?

    public var isConfigured: Bool { unconfiguredReason == nil }
}

/// A config problem: unreadable file, TOML syntax (with its line), or a wrong key or type.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Backend configuration from `~/.config/rdic/config.toml` (or `--config`) plus environment
/// variables. Environment variables win over the file, so one invocation can point elsewhere
/// without editing it. Every key is optional; unknown keys are errors (a typo such as
/// `base-url` should not be silently ignored).
///
/// ```toml
/// [anthropic]                       # env: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
/// api_key  = "sk-ant-..."
/// base_url = "https://api.anthropic.com"   # API root, no /v1 (as in Anthropic's SDKs)
/// version  = "2023-06-01"           # anthropic-version header
///
/// [deepseek]                        # env: DEEPSEEK_API_KEY, DEEPSEEK_BASE_URL
/// api_key  = "sk-..."
/// base_url = "https://api.deepseek.com"
///
/// [openai]                          # env: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL
/// base_url = "http://127.0.0.1:8000/v1"    # includes /v1 (as in OpenAI's SDKs); vLLM, SGLang, llama.cpp, LM Studio
/// api_key  = "optional"
/// model    = "Qwen/Qwen2.5-7B-Instruct"    # adds the alias `openai` for this model
///
/// [ollama]                          # env: OLLAMA_HOST (same syntax as Ollama's), OLLAMA_API_KEY
/// host = "127.0.0.1:11434"
///
/// [timeouts]                        # seconds
/// connect = 10
/// first_byte = 120
/// total = 600
///
/// [retry]
/// max_retries = 2
/// initial_backoff = 0.5             # seconds, doubled per retry, capped by max_backoff
/// max_backoff = 8
///
/// [aliases.qwen-7b]                 # adds (or overrides) a friendly model name
/// backend = "openai"                # anthropic | deepseek | openai | ollama | local
/// model = "Qwen/Qwen2.5-7B-Instruct"
/// ```
///
/// When is a backend "configured"? Anthropic and DeepSeek need a key. The OpenAI-compatible
/// backend needs a base URL or a key (a key alone means api.openai.com). Ollama needs
/// `OLLAMA_HOST` or an `[ollama]` table: its default address is not assumed to be serving,
/// so that `rdic check` does not fail on machines without Ollama.
public struct ProviderConfig: Sendable, Equatable {
    public var anthropic: BackendEndpoint
    public var anthropicVersion: String
    public var deepseek: BackendEndpoint
    public var openai: BackendEndpoint
    public var ollama: BackendEndpoint
    public var timeouts: Timeouts
    public var retry: RetryPolicy
    public var aliases: [ModelAlias]

    public func endpoint(_ kind: BackendKind) -> BackendEndpoint? {
        switch kind {
        case .anthropic: return anthropic
        case .deepseek: return deepseek
        case .openai: return openai
        case .ollama: return ollama
        case .local: return nil
        }
    }

    /// Every API key in the configuration, for redaction.
    public var secrets: [String] {
        [anthropic.apiKey, deepseek.apiKey, openai.apiKey, ollama.apiKey].compactMap { $0 }
    }

    /// The default config file: `$XDG_CONFIG_HOME/rdic/config.toml`, else `~/.config/rdic/config.toml`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/rdic/config.toml" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/rdic/config.toml"
    }

    /// Loads `path` (which must exist) or the default file (which may be absent), then applies
    /// the environment.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProviderConfig {
        let filePath = path ?? defaultPath(environment: environment)
        guard FileManager.default.fileExists(atPath: filePath) else {
            if path != nil { throw ConfigError(path: filePath, message: "no such file") }
            return try parse(toml: "", path: filePath, environment: environment)
        }
        guard let data = FileManager.default.contents(atPath: filePath), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(path: filePath, message: "cannot read the file as UTF-8")
        }
        return try parse(toml: text, path: filePath, environment: environment)
    }

    /// Builds a configuration from config-file text and an environment.
    public static func parse(toml text: String, path: String = "config.toml", environment: [String: String]) throws -> ProviderConfig {
        let root: [String: ConfigValue]
        do { root = try TOML.parse(text) } catch let error as TOMLError {
            throw ConfigError(path: path, message: error.description)
        }
        let file = FileReader(root: root, path: path)
        func env(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
            return value
        }

        let anthropicKey = try env("ANTHROPIC_API_KEY") ?? file.string("anthropic", "api_key")
        let anthropic = BackendEndpoint(
            kind: .anthropic,
            baseURL: try env("ANTHROPIC_BASE_URL") ?? file.string("anthropic", "base_url") ?? AnthropicProvider.defaultBaseURL,
            apiKey: anthropicKey, unconfiguredReason: anthropicKey == nil ? "ANTHROPIC_API_KEY not set" : nil)
        let version = try file.string("anthropic", "version") ?? AnthropicProvider.apiVersion

        let deepseekKey = try env("DEEPSEEK_API_KEY") ?? file.string("deepseek", "api_key")
        let deepseek = BackendEndpoint(
            kind: .deepseek,
            baseURL: try env("DEEPSEEK_BASE_URL") ?? file.string("deepseek", "base_url") ?? OpenAICompatibleProvider.deepSeekBaseURL,
            apiKey: deepseekKey, unconfiguredReason: deepseekKey == nil ? "DEEPSEEK_API_KEY not set" : nil)

        let openaiKey = try env("OPENAI_API_KEY") ?? file.string("openai", "api_key")
        let openaiBase = try env("OPENAI_BASE_URL") ?? file.string("openai", "base_url")
        let openaiModel = try env("OPENAI_MODEL") ?? file.string("openai", "model")
        let openai = BackendEndpoint(
            kind: .openai, baseURL: openaiBase ?? OpenAICompatibleProvider.openAIBaseURL, apiKey: openaiKey,
            unconfiguredReason: openaiKey == nil && openaiBase == nil ? "OPENAI_BASE_URL and OPENAI_API_KEY not set" : nil)

        let ollamaHost = try env("OLLAMA_HOST") ?? file.string("ollama", "host")
        let ollamaKey = try env("OLLAMA_API_KEY") ?? file.string("ollama", "api_key")
        let ollama = BackendEndpoint(
            kind: .ollama, baseURL: OllamaProvider.normalizeHost(ollamaHost ?? OllamaProvider.defaultHost), apiKey: ollamaKey,
            unconfiguredReason: ollamaHost == nil && root["ollama"] == nil ? "OLLAMA_HOST not set" : nil)

        var timeouts = Timeouts()
        if let value = try file.seconds("timeouts", "connect") { timeouts.connect = value }
        if let value = try file.seconds("timeouts", "first_byte") { timeouts.firstByte = value }
        if let value = try file.seconds("timeouts", "total") { timeouts.total = value }

        var retry = RetryPolicy()
        if let value = try file.int("retry", "max_retries") { retry.maxRetries = max(0, value) }
        if let value = try file.seconds("retry", "initial_backoff") { retry.initialBackoff = value }
        if let value = try file.seconds("retry", "max_backoff") { retry.maxBackoff = value }

        var userAliases: [ModelAlias] = []
        if let openaiModel { userAliases.append(ModelAlias(name: "openai", backend: .openai, model: openaiModel)) }
        if let table = root["aliases"] {
            guard let aliases = table.tableValue else { throw ConfigError(path: path, message: "'aliases' must be a table") }
            for name in aliases.keys.sorted() {
                guard let entry = aliases[name]?.tableValue else {
                    throw ConfigError(path: path, message: "aliases.\(name) must be a table with 'backend' and 'model'")
                }
                let unknown = Set(entry.keys).subtracting(["backend", "model"])
                if let key = unknown.sorted().first { throw ConfigError(path: path, message: "unknown key 'aliases.\(name).\(key)'") }
                guard let backendName = entry["backend"]?.stringValue, let backend = BackendKind(rawValue: backendName) else {
                    throw ConfigError(path: path, message: "aliases.\(name).backend must be one of "
                        + BackendKind.allCases.map(\.rawValue).joined(separator: ", "))
                }
                guard let model = entry["model"]?.stringValue, !model.isEmpty else {
                    throw ConfigError(path: path, message: "aliases.\(name).model must be a non-empty string")
                }
                userAliases.append(ModelAlias(name: name, backend: backend, model: model))
            }
        }
        try file.rejectUnknown()

        return ProviderConfig(anthropic: anthropic, anthropicVersion: version, deepseek: deepseek, openai: openai,
                              ollama: ollama, timeouts: timeouts, retry: retry,
                              aliases: ModelAliases.merged(user: userAliases))
    }
}

/// Typed access to `[table] key` values that records what was read, so leftovers can be
/// reported as unknown keys.
private struct FileReader {
    static let known: [String: Set<String>] = [
        "anthropic": ["api_key", "base_url", "version"], "deepseek": ["api_key", "base_url"],
        "openai": ["api_key", "base_url", "model"], "ollama": ["host", "api_key"],
        "timeouts": ["connect", "first_byte", "total"], "retry": ["max_retries", "initial_backoff", "max_backoff"],
    ]
    let root: [String: ConfigValue]
    let path: String

    private func value(_ table: String, _ key: String) throws -> ConfigValue? {
        guard let section = root[table] else { return nil }
        guard let entries = section.tableValue else { throw ConfigError(path: path, message: "'\(table)' must be a table") }
        return entries[key]
    }

    func string(_ table: String, _ key: String) throws -> String? {
        guard let value = try value(table, key) else { return nil }
        guard let string = value.stringValue else {
            throw ConfigError(path: path, message: "\(table).\(key) must be a string, not \(value.typeName)")
        }
        return string.isEmpty ? nil : string
    }

    func int(_ table: String, _ key: String) throws -> Int? {
        guard let value = try value(table, key) else { return nil }
        guard let int = value.intValue else { throw ConfigError(path: path, message: "\(table).\(key) must be an integer") }
        return int
    }

    func seconds(_ table: String, _ key: String) throws -> Duration? {
        guard let value = try value(table, key) else { return nil }
        guard let seconds = value.doubleValue, seconds >= 0, seconds.isFinite else {
            throw ConfigError(path: path, message: "\(table).\(key) must be a non-negative number of seconds")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    func rejectUnknown() throws {
        for table in root.keys.sorted() where table != "aliases" {
            guard let keys = Self.known[table] else {
                throw ConfigError(path: path, message: "unknown table '[\(table)]'")
            }
            for key in (root[table]?.tableValue ?? [:]).keys.sorted() where !keys.contains(key) {
                throw ConfigError(path: path, message: "unknown key '\(table).\(key)'")
            }
        }
    }
}
