import Foundation
import Engine
import ModelStore

/// Where named sessions live: `<model store home>/sessions/NAME.safetensors`.
enum SessionStore {
    static var directory: URL {
        ModelStore.fromEnvironment().home.appendingPathComponent("sessions", isDirectory: true)
    }

    static func url(_ name: String) throws -> URL {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw ValidationErrorText("session names are plain file names: \(name)")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name + ".safetensors")
    }

    static func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) }.sorted()
    }

    /// The named session if saved (refusing damaged or foreign files), else a new one.
    static func open(_ name: String, engine: Engine, contextLength: Int, options: EngineOptions) throws -> Session {
        let url = try url(name)
        if FileManager.default.fileExists(atPath: url.path) { return try engine.restoreSession(from: url.path) }
        return engine.makeSession(contextLength: contextLength, kv: try options.kv.storage())
    }
}

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
