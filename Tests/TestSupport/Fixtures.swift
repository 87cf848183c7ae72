import Foundation

/// Paths to the llama.cpp reference outputs copied into the test fixtures.
public enum Fixtures {
    public static var root: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// Reads a JSON-lines file into one dictionary per line.
    public static func jsonLines(_ relative: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: url(relative), encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }
}
