import Agents
import Foundation
import Testing

/// A bounded load on loopback: 8 agents taking turns concurrently, streaming and not, some
/// clients dropping mid-stream. Nothing may answer 5xx, and afterwards every agent's cache
/// must be consistent: its next greedy answer equals a fresh run over its history.
@Suite(.serialized, .computeBound) struct LoadTests {
    static let agents = 8
    static let turns = 4

    @Test func eightAgentsTakingTurnsKeepConsistentCaches() async throws {
        let server = try await ServerHarness(keys: ["load-a", "load-fresh"])
        let auth = ["Authorization": "Bearer load-a"]
        let statuses = try await withThrowingTaskGroup(of: (Int, [[String: String]], [Int]).self) { group in
            for agent in 0..<Self.agents {
                group.addTask {
                    var history: [[String: String]] = [["role": "system", "content": "You are agent number \(agent)."]]
                    var statuses: [Int] = []
                    for turn in 0..<Self.turns {
                        history.append(["role": "user", "content": "Turn \(turn): say something about the number \(agent * 10 + turn)."])
                        let headers = auth.merging(["X-Agent-ID": "load-\(agent)"]) { $1 }
                        let streaming = (agent + turn) % 2 == 0
                        if (agent + turn) % 5 == 3 {
                            // A client that leaves mid-stream; its turn is not part of the history.
                            _ = try await server.postAndDisconnect(
                                "/v1/chat/completions", ServerAPITests.chat(history, stream: true, maxTokens: 64), headers: headers)
                            history.removeLast()
                            continue
                        }
                        let reply = try await server.post("/v1/chat/completions", ServerAPITests.chat(history, stream: streaming, maxTokens: 6),
                                                          headers: headers)
                        statuses.append(reply.status)
                        let text = streaming
                            ? reply.eventJSON.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.joined()
                            : ((reply.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String ?? ""
                        history.append(["role": "assistant", "content": text])
                    }
                    return (agent, history, statuses)
                }
            }
            var results: [(Int, [[String: String]], [Int])] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(statuses.flatMap(\.2).allSatisfy { $0 == 200 }, "\(statuses.map(\.2))")
        // Consistency: each agent's next greedy turn (from its cache) equals a fresh agent's.
        for (agent, history, _) in statuses {
            let next = history + [["role": "user", "content": "One more thing."]]
            let warm = try await server.post("/v1/chat/completions", ServerAPITests.chat(next, maxTokens: 8),
                                             headers: auth.merging(["X-Agent-ID": "load-\(agent)"]) { $1 })
            let fresh = try await server.post("/v1/chat/completions", ServerAPITests.chat(next, maxTokens: 8),
                                              headers: ["x-api-key": "load-fresh"])
            func content(_ reply: ServerHarness.Reply) -> String? {
                ((reply.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            }
            let cached = ((warm.json["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int
            #expect((cached ?? 0) > 0, "agent \(agent) lost its cache")
            #expect(content(warm) == content(fresh), "agent \(agent): cached answer differs from a fresh run")
        }
        let metrics = server.runtime.metrics
        #expect(metrics.running == 0 && metrics.queued == 0)
        await server.stop()
    }
}
