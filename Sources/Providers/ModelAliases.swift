/// A friendly model name bound to a backend and that backend's model id.
public struct ModelAlias: Sendable, Equatable {
    public var name: String
    public var backend: BackendKind
    /// The id the backend expects (`claude-haiku-4-5`, `deepseek-reasoner`, `gemma3:12b`).
    public var model: String

    public init(name: String, backend: BackendKind, model: String) {
        self.name = name
        self.backend = backend
        self.model = model
    }
}

/// The built-in aliases and name resolution.
///
/// Why aliases: research scripts name models the way papers do (`claude-haiku-4.5`,
/// `deepseek-r1`), while each backend has its own id syntax (`claude-haiku-4-5`,
/// `deepseek-reasoner`, Ollama's `gemma3:12b`). Users can add or override aliases in the config
/// file (`[aliases.NAME]`), and `backend:model` (e.g. `openai:Qwen/Qwen2.5-7B-Instruct`) reaches
/// any model without an alias.
public enum ModelAliases {
    public static let builtin: [ModelAlias] = [
        ModelAlias(name: "claude-haiku-4.5", backend: .anthropic, model: "claude-haiku-4-5"),
        ModelAlias(name: "claude-sonnet-4.5", backend: .anthropic, model: "claude-sonnet-4-5"),
        ModelAlias(name: "deepseek-r1", backend: .deepseek, model: "deepseek-reasoner"),
        ModelAlias(name: "deepseek-v3", backend: .deepseek, model: "deepseek-chat"),
        ModelAlias(name: "gemma-3-12b", backend: .ollama, model: "gemma3:12b"),
        ModelAlias(name: "gemma3-270m", backend: .local, model: "gemma3-270m"),
        ModelAlias(name: "smollm2-135m", backend: .local, model: "smollm2-135m"),
    ]

    /// Built-in aliases of the local model of record: the local engine answers for them when
    /// the model's GGUF is installed or in Ollama's or Hugging Face's store, else their backend.
    public static let localFirst: Set<String> = ["gemma-3-12b"]

    /// Built-ins first (in their order), then user aliases; a user alias with a built-in's
    /// name replaces it in place.
    public static func merged(builtin: [ModelAlias] = builtin, user: [ModelAlias]) -> [ModelAlias] {
        var result = builtin
        for alias in user {
            if let index = result.firstIndex(where: { $0.name == alias.name }) {
                result[index] = alias
            } else {
                result.append(alias)
            }
        }
        return result
    }

    /// Finds `name` among `aliases`, or parses `backend:model`.
    public static func resolve(_ name: String, in aliases: [ModelAlias]) throws -> ModelAlias {
        if let alias = aliases.first(where: { $0.name == name }) { return alias }
        if let colon = name.firstIndex(of: ":"), let backend = BackendKind(rawValue: String(name[..<colon])) {
            let model = String(name[name.index(after: colon)...])
            if !model.isEmpty { return ModelAlias(name: name, backend: backend, model: model) }
        }
        let known = aliases.map(\.name).joined(separator: ", ")
        throw ProviderError.notConfigured(
            "unknown model '\(name)'; use an alias (\(known)) or backend:model with backend one of "
                + BackendKind.allCases.map(\.rawValue).joined(separator: ", "))
    }
}
