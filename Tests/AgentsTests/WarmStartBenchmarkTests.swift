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

    @Test func timingsTakeTheMedian() {
        let odd = AgentBenchmark.Timings([0.3, 0.1, 0.2])
        #expect(odd.median == 0.2 && odd.min == 0.1 && odd.max == 0.3)
        #expect(abs(odd.spread - 1) < 1e-12)
        #expect(AgentBenchmark.Timings([0.4, 0.1, 0.3, 0.2]).median == 0.25)
        #expect(AgentBenchmark.Timings([5]).median == 5)
    }
}
