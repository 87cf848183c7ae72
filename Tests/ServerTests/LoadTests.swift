import Foundation
import Testing
import TestSupport

/// A bounded load on loopback against the real `rdic serve` process: 8 agents x 25 turns,
/// streaming and not, some clients dropping mid-stream. Nothing may answer 5xx; afterwards every
/// agent's cache is consistent (its next greedy answer equals a fresh run over its history) and
/// the process's memory is back to its idle level once the agents are deleted.
@Suite(.serialized, .computeBound) struct LoadTests {
    static let agents = 8
    static let turns = 25
    /// What the process may keep beyond idle after the load (allocator slack, grown buffers):
    /// well below the ~8 x 15 MiB of caches the load builds up.
    static let slack = 32 << 20

    @Test func eightAgentsByTwentyFiveTurnsKeepConsistentCachesAndReturnToIdleMemory() async throws {
        let server = try ServeProcess(arguments: [
            "--model", try TestModels.path(for: .smollm2), "--served-model-name", "smollm2-135m", "--ctx", "1024",
            "--parallel", "4", "--api-key", "load-a", "--api-key", "load-fresh",
        ])
        defer { _ = server.terminate() }
        let auth = ["Authorization": "Bearer load-a"]

        // Idle: the model loaded and one request served (scratch buffers exist), no agents.
        _ = try await server.post("/v1/chat/completions", ServerAPITests.chat([["role": "user", "content": "Hi."]], maxTokens: 4),
                                  headers: auth.merging(["X-Agent-ID": "warm-up"]) { $1 })
        _ = try await server.request(.DELETE, "/v1/agents/warm-up", headers: auth)
        let idle = try await server.memory()

        let peak = Peak()
        let results = try await withThrowingTaskGroup(of: (Int, [[String: String]], [Int]).self) { group in
            for agent in 0..<Self.agents {
                group.addTask {
                    var history: [[String: String]] = [["role": "system", "content": "You are agent number \(agent)."]]
                    var statuses: [Int] = []
                    for turn in 0..<Self.turns {
                        history.append(["role": "user", "content": "Turn \(turn): one word about \(agent * 100 + turn)."])
                        let headers = auth.merging(["X-Agent-ID": "load-\(agent)"]) { $1 }
                        let streaming = (agent + turn) % 2 == 0
                        if (agent + turn) % 7 == 3 {
                            // A client that leaves mid-stream; its turn is not part of the history.
                            _ = try await server.postAndDisconnect(
                                "/v1/chat/completions", ServerAPITests.chat(history, stream: true, maxTokens: 48), headers: headers)
                            history.removeLast()
                            continue
                        }
                        let reply = try await server.post("/v1/chat/completions", ServerAPITests.chat(history, stream: streaming, maxTokens: 4),
                                                          headers: headers)
                        statuses.append(reply.status)
                        let text = streaming
                            ? reply.eventJSON.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.joined()
                            : ((reply.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String ?? ""
                        history.append(["role": "assistant", "content": text])
                        if turn % 5 == 0 { peak.record(try server.residentBytes()) }
                    }
                    return (agent, history, statuses)
                }
            }
            var results: [(Int, [[String: String]], [Int])] = []
            for try await result in group { results.append(result) }
            return results
        }
        let statuses = results.flatMap(\.2)
        #expect(statuses.count > Self.agents * Self.turns * 3 / 4)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")

        // Consistency: each agent's next greedy turn (from its cache) equals a fresh agent's.
        for (agent, history, _) in results {
            let next = history + [["role": "user", "content": "One more thing."]]
            let warm = try await server.post("/v1/chat/completions", ServerAPITests.chat(next, maxTokens: 8),
                                             headers: auth.merging(["X-Agent-ID": "load-\(agent)"]) { $1 })
            let fresh = try await server.post("/v1/chat/completions", ServerAPITests.chat(next, maxTokens: 8),
                                              headers: ["x-api-key": "load-fresh", "X-Agent-ID": "fresh-\(agent)"])
            func content(_ reply: LoopbackReply) -> String? {
                ((reply.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            }
            let cached = ((warm.json["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int
            #expect((cached ?? 0) > 0, "agent \(agent) lost its cache")
            #expect(warm.status == 200 && content(warm) == content(fresh), "agent \(agent): cached answer differs from a fresh run")
        }
        let loaded = try await server.memory()
        #expect(loaded.ramCacheBytes > 8 * (4 << 20), "the load built caches: \(loaded)")
        #expect(loaded.running == 0 && loaded.queued == 0, "\(loaded)")

        // Back to idle: delete every agent of both keys; the process gives the memory back.
        for agent in 0..<Self.agents {
            #expect(try await server.request(.DELETE, "/v1/agents/load-\(agent)", headers: auth).status == 200)
            #expect(try await server.request(.DELETE, "/v1/agents/fresh-\(agent)", headers: ["x-api-key": "load-fresh"]).status == 200)
        }
        try await Task.sleep(for: .milliseconds(500))  // the trim after frees is coalesced
        let after = try await server.memory()
        let note = "idle \(idle), peak RSS \(peak.value >> 20) MiB, loaded \(loaded), after \(after)"
        print("[load] \(note)")
        #expect(after.ramCacheBytes <= idle.ramCacheBytes + Self.slack, "\(note)")
        #expect(after.resident <= idle.resident + Self.slack, "\(note)")
        #expect(server.terminate() == 0, "rdic serve exits cleanly on SIGTERM")
    }
}

/// The largest value seen, from several tasks.
private final class Peak: @unchecked Sendable {
    private let lock = NSLock()
    private var maximum = 0
    func record(_ value: Int) { lock.withLock { maximum = max(maximum, value) } }
    var value: Int { lock.withLock { maximum } }
}

/// What the server process holds: its resident set (from /proc) and the runtime's own gauges.
struct ServerMemory: CustomStringConvertible {
    var resident: Int
    var ramCacheBytes: Int
    var running: Int
    var queued: Int
    var description: String { "RSS \(resident >> 20) MiB, RAM cache \(ramCacheBytes >> 20) MiB, running \(running), queued \(queued)" }
}

extension ServeProcess {
    func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
            throw NotReady(description: "no VmRSS in /proc/\(process.processIdentifier)/status")
        }
        return kib * 1024
    }

    /// Samples once the server is idle (nothing running or queued).
    func memory() async throws -> ServerMemory {
        for _ in 0..<100 {
            let text = try await request(.GET, "/metrics").body
            func gauge(_ name: String) -> Int {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                    .flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? -1
            }
            let sample = ServerMemory(resident: try residentBytes(), ramCacheBytes: gauge(#"rdic_cache_bytes{tier="ram"}"#),
                                      running: gauge("rdic_running_requests"), queued: gauge("rdic_queue_depth"))
            if sample.running == 0 && sample.queued == 0 { return sample }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NotReady(description: "the server never went idle")
    }
}
