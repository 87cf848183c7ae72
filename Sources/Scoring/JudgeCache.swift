import AtomicWrites
import Foundation
import ModelStore

/// Judge answers on disk, one JSON file per question, named by the SHA-256 of the model and the
/// full prompt: a re-run asks the model only what it has not answered before.
public struct JudgeCache: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public static func key(model: String, prompt: String) -> String {
        var hash = SHA256()
        hash.update(Array("\(model)\u{0}\(prompt)".utf8))
        return hash.finalize()
    }

    public func load(_ key: String) -> JudgeVerdict? {
        guard let data = try? Data(contentsOf: file(key)) else { return nil }
        return try? JSONDecoder().decode(JudgeVerdict.self, from: data)
    }

    /// Only verdicts are stored, never errors: a failed call is asked again next run.
    public func store(_ verdict: JudgeVerdict, key: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(encoder.encode(verdict), to: file(key))
    }

    private func file(_ key: String) -> URL { directory.appendingPathComponent("\(key).json") }
}
