import Foundation
import TestSupport
import Testing

/// `rdic experiment` refuses bad input with a clear message and exit status 2, before any work.
@Suite(.computeBound) struct ExperimentCommandErrorTests {
    @Test func badConfigsAndMissingDatabasesAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-exp-err-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("bad.toml").path
        try "[experiment]\ndatasets = [\"conflicts\"]\nmodel = \"m\"\nconditions = [\"isolated\"]\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let env = ["RDIC_HOME": dir.appendingPathComponent("home").path]
        let bad = try RDICBinary.run(["experiment", "run", config, "--db", dir.appendingPathComponent("r.sqlite").path], environment: env)
        #expect(bad.status == 2 && bad.stderr.contains("unknown condition 'isolated'"), "\(bad.stderr)")
        let missing = try RDICBinary.run(["experiment", "run", dir.appendingPathComponent("none.toml").path, "--db", "x.sqlite"], environment: env)
        #expect(missing.status == 2 && missing.stderr.contains("cannot read the experiment config"))
        let status = try RDICBinary.run(["experiment", "status", "--db", dir.appendingPathComponent("absent.sqlite").path], environment: env)
        #expect(status.status == 2 && status.stderr.contains("no results database"))
    }
}
