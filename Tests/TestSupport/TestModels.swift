import Foundation
import ModelStore

/// Locates the two real models the suite runs on. `scripts/test` installs them first
/// (`rdic model install`), so a missing model is a set-up error, reported as such.
public enum TestModels {
    public enum Name: String, Sendable, CaseIterable {
        case gemma3 = "gemma3-270m"
        case smollm2 = "smollm2-135m"

        var fileName: String {
            switch self {
            case .gemma3: "gemma-3-270m-q4_k_m.gguf"
            case .smollm2: "SmolLM2-135M-Instruct.Q4_1.gguf"
            }
        }
    }

    public struct Missing: Error, CustomStringConvertible {
        public let name: String
        public let searched: [String]
        public var description: String {
            "model \(name) is not installed (looked in \(searched.joined(separator: ", "))); run scripts/test, which installs it"
        }
    }

    /// Folders searched, in order: `RDIC_TEST_MODELS_DIR`, then the model store `rdic model install`
    /// writes to, located by ModelStore itself so the tests look exactly where the tool installs.
    public static func searchPaths(environment env: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var dirs: [String] = []
        if let dir = env["RDIC_TEST_MODELS_DIR"], !dir.isEmpty { dirs.append(dir) }
        dirs.append(ModelStore.fromEnvironment(env).modelsDirectory.path)
        return dirs
    }

    public static func path(for name: Name) throws -> String {
        let dirs = searchPaths()
        for dir in dirs {
            let candidate = dir + "/" + name.fileName
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        throw Missing(name: name.rawValue, searched: dirs)
    }
}
