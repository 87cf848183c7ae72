import Agents
import Foundation
import TestSupport
import Testing

/// The warm-agent benchmark measures what it says: each warm request starts from the agent's
/// history and prefills only the new message, each cold one prefills everything (`warmStart`
/// throws otherwise), the repetitions are all there, and nothing is left in the disk tier.
@Suite(.serialized) struct WarmStartBenchmarkTests {
    /// A history past Gemma's 512-token sliding window: a repetition cannot rewind the agent
    /// that a previous one extended, so each must start from a fork of the same state.
    @Test(arguments: [TestModels.Name.smollm2, .gemma3])
    func everyRepetitionStartsFromTheHistory(_ name: TestModels.Name) async throws {
        let engine = try Engines.get(name)
        let dir = temporaryDirectory("warm-bench")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = try await AgentBenchmark(engine: engine)
            .warmStart(history: 700, newTokens: 16, directory: dir, repetitions: 3, coldRepetitions: 2)
        #expect(w.historyTokens == 700 && w.newTokens == 16)
        #expect(w.ram.samples.count == 3 && w.disk.samples.count == 3 && w.cold.samples.count == 2)
        for t in [w.cold, w.ram, w.disk] {
            #expect(t.samples.allSatisfy { $0 > 0 } && t.min <= t.median && t.median <= t.max)
        }
        #expect(AgentDirectory(url: dir).list().isEmpty, "the benchmark's agents are deleted")
    }

    /// Every count runs every round, one agent first, and the ratios are the medians' and the
    /// rounds' own.
    @Test func throughputRoundsTakeTurns() async throws {
        let engine = try Engines.get(.smollm2)
        let t = try await AgentBenchmark(engine: engine).throughput(agentCounts: [3, 1, 2], tokens: 4, rounds: 3)
        #expect(t.tokensPerAgent == 4)
        #expect(t.series.map(\.agents) == [1, 3, 2], "one agent first, then the larger counts as given")
        #expect(t.series.allSatisfy { $0.tokensPerSecond.count == 3 && $0.tokensPerSecond.allSatisfy { $0 > 0 } })
        let s = t.series[1]
        #expect(abs(t.speedup(agents: 3) - s.median / t.series[0].median) < 1e-12)
        let within = try #require(t.roundSpeedups(agents: 3))
        let ratios = zip(s.tokensPerSecond, t.series[0].tokensPerSecond).map { $0 / $1 }
        #expect(within.lowerBound == ratios.min()! && within.upperBound == ratios.max()!)
        #expect(t.speedup(agents: 5).isNaN && t.roundSpeedups(agents: 5) == nil, "no such count")
    }

    @Test func timingsTakeTheMedian() {
        let odd = AgentBenchmark.Timings([0.3, 0.1, 0.2])
        #expect(odd.median == 0.2 && odd.min == 0.1 && odd.max == 0.3)
        #expect(abs(odd.spread - 1) < 1e-12)
        #expect(AgentBenchmark.Timings([0.4, 0.1, 0.3, 0.2]).median == 0.25)
        #expect(AgentBenchmark.Timings([5]).median == 5)
    }
}
