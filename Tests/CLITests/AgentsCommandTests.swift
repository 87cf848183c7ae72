import Foundation
import TestSupport
import Testing

/// `rdic agents ask|list|show|rm` and what a `kill -9` in the middle of a save leaves behind.
@Suite(.serialized) struct AgentsCommandTests {
    static func json(_ text: String) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    /// A persistent agent survives `kill -9` at any moment, also while its file is being
    /// written: what was saved before is never lost or torn, and the next run continues warm.
    @Test func killDuringSaveLosesNothingSaved() throws {
        let model = try TestModels.path(for: .smollm2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-agents-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let system = String(try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8).prefix(6000))
        let common = ["--dir", dir.path, "--model", model, "--temperature", "0", "--ctx", "4096"]
        let first = try RDICBinary.run(["agents", "ask", "a1", "Hello.", "--system", system, "--max-tokens", "4"] + common)
        #expect(first.status == 0, "\(first.stderr)")
        let saved = try Self.json(RDICBinary.run(["agents", "list", "--json", "--dir", dir.path]).stdout)
        let savedTokens = try #require(saved.first?["tokens"] as? Int)
        #expect(saved.count == 1 && savedTokens > 1000)

        var caughtWriting = 0
        for attempt in 0..<6 where caughtWriting < 2 {
            let process = Process()
            process.executableURL = try RDICBinary.url
            process.arguments = ["agents", "ask", "a1", "Question \(attempt)?", "--max-tokens", "8"] + common
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill it the moment a temporary file appears beside the agent's file: mid-save.
            let tenantDir = try #require(try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).first)
            var killed = false
            while process.isRunning {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: tenantDir.path)) ?? []
                if names.contains(where: { $0.hasSuffix(".tmp") }) {
                    kill(process.processIdentifier, SIGKILL)
                    killed = true
                    break
                }
                usleep(200)
            }
            process.waitUntilExit()
            if killed && process.terminationReason == .uncaughtSignal { caughtWriting += 1 }
            let listed = try Self.json(RDICBinary.run(["agents", "list", "--json", "--dir", dir.path]).stdout)
            #expect(listed.count == 1, "the agent's file is whole after attempt \(attempt)")
            #expect((listed.first?["tokens"] as? Int ?? 0) >= savedTokens)
        }
        #expect(caughtWriting > 0, "no kill landed during a save")
        // The next run cleans up, restores the agent and prefills only the new message.
        let last = try RDICBinary.run(["agents", "ask", "a1", "Thanks!", "--max-tokens", "2"] + common)
        #expect(last.status == 0, "\(last.stderr)")
        let reused = last.stderr.split(separator: " ").compactMap { Int($0) }
        #expect(reused.count == 2 && reused[1] >= savedTokens - 8, "\(last.stderr)")
        let tenantDir = try #require(try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tenantDir.path).filter { $0.hasSuffix(".tmp") }.isEmpty)
    }

    @Test func listShowAndRemove() throws {
        let model = try TestModels.path(for: .smollm2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-agents-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = ["--dir", dir.path, "--model", model, "--temperature", "0", "--max-tokens", "3"]
        #expect(try RDICBinary.run(["agents", "ask", "alpha", "Hi."] + common).status == 0)
        #expect(try RDICBinary.run(["agents", "ask", "alpha", "Hi.", "--tenant", "other"] + common).status == 0)
        #expect(try RDICBinary.run(["agents", "ask", "beta", "Hello."] + common).status == 0)
        let list = try RDICBinary.run(["agents", "list", "--dir", dir.path])
        #expect(list.stdout.contains("alpha") && list.stdout.contains("beta") && list.stdout.contains("other"))
        let ambiguous = try RDICBinary.run(["agents", "show", "alpha", "--dir", dir.path])
        #expect(ambiguous.status == 1 && ambiguous.stderr.contains("--tenant"))
        let show = try RDICBinary.run(["agents", "show", "beta", "--dir", dir.path, "--json"])
        #expect(show.status == 0 && show.stdout.contains("\"tokenIds\""))
        #expect(try RDICBinary.run(["agents", "rm", "alpha", "--tenant", "other", "--dir", dir.path]).status == 0)
        let missing = try RDICBinary.run(["agents", "rm", "alpha", "--tenant", "other", "--dir", dir.path])
        // Not a usage error: a plain failure, without the usage text.
        #expect(missing.status == 1 && missing.stderr.contains("no saved agent") && !missing.stderr.contains("Usage:"))
        #expect(try Self.json(RDICBinary.run(["agents", "list", "--json", "--dir", dir.path]).stdout).count == 2)

        // A truncated agent file is named on standard error; the others are still listed.
        let shown = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
        let beta = try #require(shown?["path"] as? String)
        let damaged = URL(fileURLWithPath: beta).deletingLastPathComponent().appendingPathComponent("damaged.safetensors")
        try Data(try Data(contentsOf: URL(fileURLWithPath: beta)).prefix(5000)).write(to: damaged)
        let listed = try RDICBinary.run(["agents", "list", "--json", "--dir", dir.path])
        #expect(listed.status == 0 && listed.stderr.contains("skipped \(damaged.path)"), "\(listed.stderr)")
        #expect(try Self.json(listed.stdout).count == 2)
    }
}
