import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

/// `rdic dataset ...` run as the built binary, on the bundled files and on a loopback fake
/// Anthropic server.
@Suite struct DatasetCommandTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/Datasets/Resources")
    static let conflicts = resources.appendingPathComponent("rdic_conflicts_v2.json").path
    static let multiTurn = resources.appendingPathComponent("multiturn_v2.jsonl").path

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-dataset-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func records(_ path: String) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [[String: Any]] ?? []
    }

    /// The environment for `generate` against `fake`, isolated from any user config.
    static func environment(_ fake: FakeConflictModel, _ dir: URL) -> [String: String] {
        ["ANTHROPIC_API_KEY": "sk-ant-test-0123456789", "ANTHROPIC_BASE_URL": fake.baseURL, "XDG_CONFIG_HOME": dir.path]
    }

    @Test func validatePassesTheBundledDataAndFailsBrokenRecords() throws {
        for file in [Self.conflicts, Self.multiTurn] {
            let result = try RDICBinary.run(["dataset", "validate", file])
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains(" 0 invalid"))
            #expect(result.stdout.contains("by domain:"))
        }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var records = try Self.records(Self.conflicts)
        records[1]["domain"] = "poetry"
        records[2]["id"] = records[0]["id"]
        let broken = dir.appendingPathComponent("broken.json")
        try JSONSerialization.data(withJSONObject: records).write(to: broken)
        let text = try RDICBinary.run(["dataset", "validate", broken.path])
        #expect(text.status == 1)
        #expect(text.stdout.contains("record 1 (conflict_002):"))
        #expect(text.stdout.contains("[domain] domain 'poetry' is not one of"))
        let json = try RDICBinary.run(["dataset", "validate", "--json", broken.path])
        #expect(json.status == 1)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(report["invalid"] as? Int == 2)
        #expect(report["valid"] as? Int == records.count - 2)
        let missing = try RDICBinary.run(["dataset", "validate", dir.appendingPathComponent("none.json").path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such file"))
    }

    @Test func splitStatsSampleAndMigrate() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("conflicts.json")
        try FileManager.default.copyItem(atPath: Self.conflicts, toPath: copy.path)
        let split = try RDICBinary.run(["dataset", "split", copy.path, "--seed", "3"])
        #expect(split.status == 0, "\(split.stderr)")
        let train = try Self.records(dir.appendingPathComponent("conflicts_train.json").path)
        let test = try Self.records(dir.appendingPathComponent("conflicts_test.json").path)
        #expect(train.count + test.count == (try Self.records(Self.conflicts)).count)
        #expect(test.count >= 5)

        let stats = try RDICBinary.run(["dataset", "stats", "--json", Self.multiTurn])
        let summary = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(summary["multi_turn"] as? Int == 10)

        let sample = try RDICBinary.run(["dataset", "sample", "3", Self.conflicts])
        #expect(sample.stdout.components(separatedBy: "\n== conflict_").count == 3)
        #expect(sample.stdout.contains("expected: "))

        let v1 = dir.appendingPathComponent("v1.json")
        try #"[{"id": "conflict_001", "conflict_type": "tone_formal_vs_casual", "domain": "business_email", "turns": [{"turn_id": 1, "role": "user", "content": "Write the launch email. Be formal and casual."}], "conflicting_instructions": ["Be formal", "Be casual"], "task": "Write the launch email"}]"#
            .write(to: v1, atomically: true, encoding: .utf8)
        let migrate = try RDICBinary.run(["dataset", "migrate", v1.path])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout.contains("backup: \(v1.path).v1.bak"))
        #expect(try RDICBinary.run(["dataset", "validate", v1.path]).status == 0)
    }

    @Test func generateResumesAfterTheProcessIsKilled() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = ["dataset", "generate", "--num", "10", "--model", "claude-sonnet-4.5", "--seed", "42", "-o"]

        // Uninterrupted reference run.
        let straight = try FakeConflictModel()
        let reference = dir.appendingPathComponent("reference.json").path
        let full = try RDICBinary.run(arguments + [reference], environment: Self.environment(straight, dir))
        straight.stop()
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.stdout.contains("10/10 records"))
        #expect(full.stderr.contains("10/10"))

        // A run whose fifth request is held until the process has been killed.
        let release = DispatchSemaphore(value: 0)
        let held = try FakeConflictModel(hold: { index in if index == 4 { _ = release.wait(timeout: .now() + 60) } })
        let output = dir.appendingPathComponent("batch.json").path
        let process = Process()
        process.executableURL = try RDICBinary.url
        process.arguments = arguments + [output]
        process.environment = ProcessInfo.processInfo.environment.merging(Self.environment(held, dir)) { $1 }
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while held.requestBodies.count < 5, Date() < deadline { usleep(20_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        release.signal()
        held.stop()
        #expect(try Self.records(output).map { $0["id"] as? String } == (1...4).map { String(format: "conflict_%03d", $0) })

        let fresh = try FakeConflictModel()
        let resumed = try RDICBinary.run(arguments + [output, "--resume"], environment: Self.environment(fresh, dir))
        fresh.stop()
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("10/10 records (4 from the earlier run)"))
        #expect(fresh.requestBodies.count == 6)
        func withoutTimes(_ records: [[String: Any]]) throws -> [Data] {
            try records.map { record in
                var record = record
                var metadata = record["metadata"] as? [String: Any] ?? [:]
                metadata["generated_at"] = nil
                record["metadata"] = metadata
                return try JSONSerialization.data(withJSONObject: record, options: .sortedKeys)
            }
        }
        #expect(try withoutTimes(Self.records(output)) == withoutTimes(Self.records(reference)))
        #expect(try RDICBinary.run(["dataset", "validate", output]).status == 0)
    }

    @Test func generateWithoutAKeySaysSo() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try RDICBinary.run(["dataset", "generate", "--num", "2", "-o", dir.appendingPathComponent("x.json").path],
                                        environment: ["ANTHROPIC_API_KEY": "", "XDG_CONFIG_HOME": dir.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("ANTHROPIC_API_KEY not set"))
    }
}
