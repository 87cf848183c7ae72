import Foundation
import Testing
@testable import Experiments

/// The results database: rows round-trip whole, status counts, failed cells can be retried.
struct ExperimentStoreTests {
    func tempDB() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rdic-exp-\(UUID().uuidString).sqlite").path
    }

    func result(_ id: String, _ condition: Condition, error: String? = nil) -> CellResult {
        var m = CellMeasurement()
        m.output = "Version 1: a\n\nVersion 2: b"
        m.versions = ["a", "b"]
        m.answers = [["x", "a"], ["y", "b"]]
        m.promptTokens = 120
        m.cacheBytes = 4096
        return CellResult(key: CellKey(recordID: id, condition: condition, policy: "streaming", keepRatio: 0.5, seed: 3),
                          conflictType: "tone_formal_vs_casual", dataset: "conflicts", model: "m",
                          clusters: ClusterAssignment(labels: ["formal", "casual"], turns: [1: 0, 2: 1], source: "ground_truth"),
                          measurement: m, seconds: 1.5, scores: error == nil ? ["rules": 0.75] : [:],
                          scorerErrors: error == nil ? ["judge": "no key"] : [:], error: error)
    }

    @Test func rowsRoundTripAndFeedReports() throws {
        let path = tempDB()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try ExperimentStore(path: path)
        let a = result("r1", .semantic), b = result("r2", .sequential, error: "boom")
        try store.plan([a.key, b.key, CellKey(recordID: "r3", condition: .semantic, policy: "none", keepRatio: 1, seed: 0)])
        try store.save(a)
        try store.save(b)
        #expect(throws: ExperimentError.self) { try store.save(a) }  // one row per cell, never two
        let reopened = try ExperimentStore(path: path)
        #expect(try reopened.results() == [a, b])
        let cells = try reopened.reportCells()
        #expect(cells.map(\.condition) == ["semantic", "sequential"])
        #expect(cells[0].scores == ["rules": 0.75] && cells[0].scorerErrors == ["judge": "no key"] && cells[0].cacheBytes == 4096)
        #expect(cells[1].error == "boom")
        let status = try reopened.status()
        #expect(status.map(\.condition) == ["sequential", "semantic"])
        #expect(status[1].planned == 2 && status[1].done == 1 && status[1].scorerErrors == 1)
        #expect(status[0].errors == 1)
        #expect(try reopened.removeFailed() == 1)
        #expect(try reopened.finishedKeys() == [a.key.id])
    }

    @Test func aMissingFolderIsAClearError() {
        #expect(throws: ExperimentError.self) { try ExperimentStore(path: "/nonexistent-dir/x/results.sqlite") }
    }

    @Test func aDatabaseKeepsOneSetting() throws {
        let path = tempDB()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var config = ExperimentConfig(datasets: ["conflicts"], model: "m", maxTokens: 32)
        try ExperimentStore(path: path).adopt(settings: config.settings)
        try ExperimentStore(path: path).adopt(settings: config.settings)
        config.conditions = [.semantic]  // the grid may change
        try ExperimentStore(path: path).adopt(settings: config.settings)
        config.maxTokens = 64
        #expect(throws: ExperimentError.self) { try ExperimentStore(path: path).adopt(settings: config.settings) }
    }
}
