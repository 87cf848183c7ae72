import Foundation

/// The files shipped with the package: the JSON Schema of v2 records and the hand-written
/// demo datasets (40 three-turn records, 10 multi-turn records). In the repository they are
/// `Sources/Datasets/Resources/`.
public enum BundledDatasets {
    public static var schema: URL { resource("conflict-schema-v2", "json") }
    /// Three-turn `context_isolation_test` records, a JSON array.
    public static var conflicts: URL { resource("rdic_conflicts_v2", "json") }
    /// `multi_turn_instruction_following` records, JSONL.
    public static var multiTurn: URL { resource("multiturn_v2", "jsonl") }

    public static var all: [URL] { [conflicts, multiTurn] }

    private static func resource(_ name: String, _ ext: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Resources") else {
            fatalError("the Datasets resource bundle lacks Resources/\(name).\(ext); the build is incomplete")
        }
        return url
    }
}
