import Foundation
import TestSupport
import Testing

/// `rdic experiment cluster`'s argument errors, run as the built binary (the clustering itself is
/// tested over the real OpenAI wire in ExperimentsTests).
@Suite struct ExperimentClusterCommandTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-cluster-\(UUID().uuidString)")
    var env: [String: String] { ["RDIC_HOME": folder.path, "DEEPSEEK_API_KEY": ""] }

    @Test func unknownAliasIsAClearErrorAndWritesNothing() throws {
        let output = folder.appendingPathComponent("clusters.json")
        let result = try RDICBinary.run(["experiment", "cluster", "--model", "no-such-model", "-o", output.path], environment: env)
        #expect(result.status != 0)
        #expect(result.stderr.contains("no-such-model"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func missingDatasetIsAClearError() throws {
        let output = folder.appendingPathComponent("clusters.json")
        let result = try RDICBinary.run(["experiment", "cluster", "--dataset", "/no/such/batch.json", "-o", output.path],
                                        environment: env)
        #expect(result.status != 0)
        #expect(result.stderr.contains("/no/such/batch.json"))
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
