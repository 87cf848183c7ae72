import ModelStore

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
