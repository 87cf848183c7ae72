import Engine
import LocalProvider
import ModelStore
import Providers

/// Finds the model a command should use: a path, an installed or discovered name, or a built-in
/// name installed on first use. No name means the default model.
enum ModelResolution {
    static func resolve(_ spec: String?, store: ModelStore = .fromEnvironment()) async throws -> InstalledModel {
        let name = try spec ?? store.defaultModelName()
        return try await store.ensureInstalled(name, progress: ProgressBar().handler)
    }
}

/// The GGUF file a `--model` argument names: a path, an installed name, or a name found in another
/// tool's cache (ModelStore's resolution). Kept in one place so every subcommand resolves alike.
func resolveModelPath(_ spec: String) throws -> String {
    try ModelStore.fromEnvironment().resolve(spec).path
}

/// The local backend for `rdic check` / `rdic ask`: the engine on an installed model. A model
/// that is not installed is reported as not configured (check shows SKIP), never downloaded
/// behind the user's back.
let localProviderMaker: LocalProviderMaker = { name in
    let path: String
    do {
        path = try resolveModelPath(name)
    } catch let error as ModelStoreError {
        throw ProviderError.notConfigured("\(error)")
    }
    return LocalEngineProvider(engine: try Engine(path: path, contextLength: 8192), modelName: name)
}

/// The store's answers for `rdic check` / `rdic ask`: the default model, and a GGUF already on
/// disk for an alias of the local model of record (`gemma-3-12b`).
func localModels(store: ModelStore = .fromEnvironment()) -> LocalModels {
    LocalModels(defaultModel: try? store.defaultModelName()) { alias in
        store.localMatch(alias: alias.name, ollamaModel: alias.backend == .ollama ? alias.model : nil)?.path
    }
}
