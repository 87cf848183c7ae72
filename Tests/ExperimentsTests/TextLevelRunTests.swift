import Datasets
import Engine
import Foundation
import LocalProvider
import Providers
import TestSupport
import Testing
@testable import Experiments

/// The text-level conditions through the providers layer (here the local engine behind
/// `ChatProvider`; a vLLM server behind the OpenAI backend is the same call), and the
/// cache-level ones refused there.
@Suite(.computeBound) struct TextLevelRunTests {
    @Test func textConditionsRunThroughAProvider() async throws {
        let engine = try #require(CacheConditionTests.engine)
        let provider = LocalEngineProvider(engine: engine, modelName: "smollm2-135m", contextLength: 2048)
        var config = ExperimentConfig(datasets: ["conflicts"], records: 1, model: "smollm2-135m",
                                      conditions: [.sequential, .separateAgents], maxTokens: 10, turnMaxTokens: 6)
        config.sampling.temperature = 0
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-text-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try ExperimentStore(path: path)
        let runner = try ExperimentRunner(config: config, backend: .provider(provider), store: store, scorer: CellScorer())
        let progress = try await runner.run()
        #expect(progress.done == 2 && progress.errors == 0)
        let cells = try store.results()
        #expect(cells.map(\.key.condition) == [.separateAgents, .sequential])
        for cell in cells {
            #expect(cell.error == nil && cell.measurement.promptTokens > 0 && cell.measurement.generatedTokens > 0)
            #expect(cell.measurement.cacheBytes == 0 && cell.scores["rules"] != nil)
        }
        #expect(cells[0].measurement.answers.count == 2 && cells[1].measurement.answers.count == 1)

        config.conditions = [.semantic]
        #expect(throws: ExperimentError.needsLocalModel("condition semantic")) {
            try ExperimentRunner(config: config, backend: .provider(provider), store: store, scorer: CellScorer())
        }
    }
}
