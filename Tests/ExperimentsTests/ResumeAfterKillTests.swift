import Foundation
import TestSupport
import Testing
@testable import Experiments

/// `rdic experiment run` as the built binary, killed with SIGKILL mid-run and run again: every
/// planned cell exactly once, and the same cells as a run never interrupted.
@Suite(.computeBound) struct ResumeAfterKillTests {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-exp-kill-\(UUID().uuidString)")

    func writeConfig(model: String) throws -> String {
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let path = home.appendingPathComponent("exp.toml").path
        try """
            [experiment]
            datasets = ["conflicts"]
            records = 2
            model = "\(model)"
            conditions = ["sequential", "semantic", "random_clusters"]
            policies = ["none", "streaming"]
            keep_ratios = [0.5]
            seeds = [0]
            parallel = 2
            context = 1024

            [sampling]
            temperature = 0.7
            seed = 11

            [generation]
            max_tokens = 12
            turn_max_tokens = 6
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func killedRunResumesToTheSameCells() async throws {
        defer { try? FileManager.default.removeItem(at: home) }
        let config = try writeConfig(model: try TestModels.path(for: .smollm2))
        let env = ["RDIC_HOME": home.appendingPathComponent("rdic").path]
        let killed = home.appendingPathComponent("killed.sqlite").path
        let clean = home.appendingPathComponent("clean.sqlite").path

        // Start a run, wait for its first cells, kill it without warning.
        let process = Process()
        process.executableURL = try RDICBinary.url
        process.arguments = ["experiment", "run", config, "--db", killed]
        process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        var finishedBeforeKill = 0
        while Date() < deadline && process.isRunning {
            if FileManager.default.fileExists(atPath: killed),
               let n = try? ExperimentStore(path: killed).finishedKeys().count, n >= 2 {
                finishedBeforeKill = n
                break
            }
            usleep(100_000)
        }
        #expect(process.isRunning, "the run ended before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let partial = try ExperimentStore(path: killed).results()
        #expect(partial.count >= finishedBeforeKill && partial.count < 12)

        let resumed = try RDICBinary.run(["experiment", "run", config, "--db", killed], environment: env)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("(\(partial.count) already done"), "\(resumed.stdout)")
        let uninterrupted = try RDICBinary.run(["experiment", "run", config, "--db", clean], environment: env)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let a = try ExperimentStore(path: killed).results(), b = try ExperimentStore(path: clean).results()
        // 2 records x 3 conditions x (none + streaming@0.5) x 1 seed.
        #expect(a.count == 12 && Set(a.map(\.key.id)).count == 12)
        #expect(a.map(\.key) == b.map(\.key))
        for (x, y) in zip(a, b) {
            #expect(x.measurement.output == y.measurement.output, "\(x.key.id)")
            #expect(x.measurement.cacheBytes == y.measurement.cacheBytes && x.measurement.promptTokens == y.measurement.promptTokens)
            #expect(x.scores == y.scores && x.error == nil && x.clusters == y.clusters)
        }
        let status = try RDICBinary.run(["experiment", "status", "--db", killed], environment: env)
        #expect(status.status == 0)
        #expect(status.stdout.contains("semantic") && status.stdout.contains("4/4"))
        #expect(status.stdout.contains("total") && status.stdout.contains("12/12"))

        // The reports of the resumed and the uninterrupted run are the same files, byte for byte.
        var reports: [[String: Data]] = []
        for (db, name) in [(killed, "report-killed"), (clean, "report-clean")] {
            let directory = home.appendingPathComponent(name)
            let made = try RDICBinary.run(["experiment", "report", "--db", db, "-o", directory.path], environment: env)
            #expect(made.status == 0, "\(made.stderr)")
            let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter { !$0.hasSuffix("/") }
            reports.append(Dictionary(uniqueKeysWithValues: try files.compactMap { path -> (String, Data)? in
                var isDirectory: ObjCBool = false
                let url = directory.appendingPathComponent(path)
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
                return (path, try Data(contentsOf: url))
            }))
        }
        #expect(reports[0].keys.contains("report.html") && reports[0].keys.contains("report.md") && reports[0].keys.contains("cells.csv"))
        #expect(reports[0] == reports[1], "the resumed run's report differs from the uninterrupted run's")
        let missing = try RDICBinary.run(["experiment", "report", "--db", home.appendingPathComponent("none.sqlite").path], environment: env)
        #expect(missing.status != 0 && missing.stderr.contains("no results database"), "\(missing.stderr)")
    }
}
