import Datasets
import Foundation
import Testing
@testable import Experiments

/// The config file, the conversations each condition builds, and the version split: no model.
struct ConfigAndScriptTests {
    static let example = """
        [experiment]
        datasets = ["conflicts"]
        records = 2
        model = "smollm2-135m"
        conditions = ["sequential", "semantic"]
        policies = ["none", "streaming", "protect_last_turn:snapkv"]
        keep_ratios = [0.5, 1]
        seeds = [0, 1]

        [sampling]
        temperature = 0
        repetition_penalty = 1.1

        [generation]
        max_tokens = 32
        turn_max_tokens = 16

        [scorers]
        rules = false
        """

    @Test func parsesTheGridAndDefaults() throws {
        let c = try ExperimentConfig.parse(Self.example)
        #expect(c.datasets == ["conflicts"] && c.records == 2 && c.model == "smollm2-135m")
        #expect(c.conditions == [.sequential, .semantic])
        #expect(c.keepRatios == [0.5, 1.0] && c.seeds == [0, 1])
        #expect(c.maxTokens == 32 && c.turnMaxTokens == 16 && c.sampling.temperature == 0)
        #expect(c.sampling.repetitionPenalty == 1.1)
        #expect(c.scorers.ifeval && !c.scorers.rules && c.scorers.judge == nil)
        // none once at 1, the others at each ratio.
        #expect(c.compressionSettings.map { "\($0.policy)@\($0.keepRatio)" }
                == ["none@1.0", "streaming@0.5", "streaming@1.0", "protect_last_turn:snapkv@0.5", "protect_last_turn:snapkv@1.0"])
    }

    @Test func theBundledExampleParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/experiment-smollm2.toml")
        let c = try ExperimentConfig.load(path: url.path)
        #expect(c.conditions == Condition.allCases)
    }

    @Test func badConfigsNameTheCulprit() {
        func message(_ text: String) -> String {
            do { _ = try ExperimentConfig.parse(text); return "" } catch { return "\(error)" }
        }
        let base = "[experiment]\ndatasets = [\"conflicts\"]\nmodel = \"m\"\n"
        #expect(message(base + "conditions = [\"isolated\"]").contains("unknown condition 'isolated'"))
        #expect(message(base + "policies = [\"lru\"]\nkeep_ratios = [0.5]").contains("unknown KV policy 'lru'"))
        #expect(message(base + "policies = [\"h2o\"]\nkeep_ratios = [1.5]").contains("keep ratio 1.5 is outside (0, 1]"))
        #expect(message(base + "policies = [\"h2o\"]").contains("need keep_ratios"))
        #expect(message(base + "temprature = 0.5").contains("unknown keys"))
        #expect(message("[experiment]\nmodel = \"m\"").contains("datasets"))
        #expect(message("[experiment\n").contains("config"))
    }

    static func record(_ id: String = "conflict_001") throws -> ConflictRecord {
        try #require(DatasetFile.read(BundledDatasets.conflicts).first { $0.id == id })
    }

    @Test func conditionsLayTheTurnsOut() throws {
        let r = try Self.record()
        let gt = try ClusterAssignment.groundTruth(r)
        #expect(gt.labels == ["formal", "casual"] && gt.turns == [1: 0, 2: 1])
        let turn1 = try #require(r.turns[0].content), turn2 = try #require(r.turns[1].content)

        let sequential = try CellScript(record: r, condition: .sequential, assignment: gt)
        #expect(sequential.threads.count == 1 && sequential.threads[0].userMessages.prefix(2) == [turn1, turn2])
        let prompted = try CellScript(record: r, condition: .prompted, assignment: gt)
        #expect(prompted.threads[0].userMessages[0] == "IMPORTANT: keep the following topics separate: formal and casual.\n\n" + turn1)
        let turnBased = try CellScript(record: r, condition: .turnBased, assignment: gt)
        #expect(turnBased.threads[0].userMessages.enumerated().allSatisfy { $0.element.hasPrefix("[Turn \($0.offset + 1)] ") })

        let semantic = try CellScript(record: r, condition: .semantic, assignment: gt)
        #expect(semantic.sharesPrefix && semantic.perCluster)
        #expect(semantic.threads.map(\.userMessages.first) == [turn1, turn2])
        #expect(semantic.threads.allSatisfy { $0.userMessages.count == 2 })
        let separate = try CellScript(record: r, condition: .separateAgents, assignment: gt)
        #expect(!separate.sharesPrefix && separate.threads.count == 2)
        #expect(semantic.output(lastAnswers: ["a", "b"]).text == "Version 1: a\n\nVersion 2: b")
    }

    @Test func randomClustersAreSeeded() throws {
        let r = try Self.record()
        let draws = (0..<16).map { ClusterAssignment.random(r, clusters: ["formal", "casual"], seed: $0).turns }
        #expect(draws == (0..<16).map { ClusterAssignment.random(r, clusters: ["formal", "casual"], seed: $0).turns })
        #expect(Set(draws.map { $0.sorted { $0.key < $1.key }.map(\.value) }).count > 1, "16 seeds all drew the same layout")
    }

    @Test func splitsAnAnswerIntoItsVersions() {
        #expect(CellScript.splitVersions("Version 1 (formal): Dear partners.\nVersion 2 (casual): Hey team!", count: 2)
                == ["Dear partners.", "Hey team!"])
        #expect(CellScript.splitVersions("Sure!\n**Version 2**: hi", count: 2) == ["Sure!", "hi"])
        #expect(CellScript.splitVersions("Only one email here.", count: 2) == ["Only one email here.", ""])
    }

    @Test func clusterLabelsMapToPoles() {
        #expect(CellScorer.poles(labels: ["formal", "casual"], conflictType: "tone_formal_vs_casual") == [0, 1])
        #expect(CellScorer.poles(labels: ["direct_answer", "background"], conflictType: "content_background_vs_direct_answer") == [1, 0])
        #expect(CellScorer.poles(labels: ["casual_caption", "formal_announcement"], conflictType: "tone_formal_vs_casual") == [1, 0])
        #expect(CellScorer.poles(labels: ["with_sources", "no_sources"], conflictType: "content_citations_vs_no_citations") == [0, 1])
        #expect(CellScorer.poles(labels: ["a", "b"], conflictType: "unknown_x_vs_y") == nil)
    }

    @Test func aClustersFileReplacesTheGroundTruth() throws {
        let r = try Self.record()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-clusters-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"conflict_001": {"labels": ["formal", "casual"], "turns": {"1": 1, "2": 0}, "source": "deepseek-r1 run 1"}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try ClusterAssignment.load(path: path)
        let swapped = try #require(loaded["conflict_001"])
        #expect(swapped.turns == [1: 1, 2: 0] && swapped.source == "deepseek-r1 run 1")
        let script = try CellScript(record: r, condition: .semantic, assignment: swapped)
        #expect(script.threads[0].userMessages.first == r.turns[1].content)
        #expect(throws: ExperimentError.self) { try ClusterAssignment.load(path: path + ".missing") }
    }
}
