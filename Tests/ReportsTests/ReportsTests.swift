import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Statistics
import Testing
@testable import Reports

/// Synthetic cells: 12 records x 3 conditions x {none@1, streaming@0.5} x 1 seed, two scorers
/// whose scores follow a fixed formula, plus two failed cells and one judge error.
func syntheticCells() -> [ReportCell] {
    var cells: [ReportCell] = []
    let types = ["tone_formal_vs_casual", "format_lists_vs_prose", "detail_brief_vs_detailed"]
    for (c, condition) in ["sequential", "semantic", "separate_agents"].enumerated() {
        for (policy, ratio) in [("none", 1.0), ("streaming", 0.5)] {
            for r in 0..<12 {
                let base = 0.3 + 0.15 * Double(c) + (ratio < 1 ? -0.1 : 0)
                let noise = Double((r * 7 + c * 3) % 5) / 20
                var cell = ReportCell(recordID: String(format: "conflict_%03d", r + 1), conflictType: types[r % 3],
                                      condition: condition, policy: policy, keepRatio: ratio, seed: 0,
                                      scores: ["verifiable": min(1, base + noise), "judge": (r + c) % 2 == 0 ? 1 : 0],
                                      promptTokens: 200 + r, generatedTokens: 50, cacheBytes: ratio < 1 ? 5000 : 10000, seconds: Double(r))
                if condition == "semantic" && policy == "none" && r == 5 { cell.scores = [:]; cell.error = "generation failed: out of memory" }
                if condition == "separate_agents" && policy == "streaming" && r == 2 { cell.scores["judge"] = nil; cell.scorerErrors = ["judge": "HTTP 500"] }
                if condition == "sequential" && policy == "none" && r == 11 { cell.scores = [:]; cell.error = "generation failed: out of memory" }
                cells.append(cell)
            }
        }
    }
    return cells
}

let fastOptions = ReportOptions(bootstrapResamples: 2000, bootstrapSeed: 7)

@Test func meansAndIntervalsComeFromStatisticsOnTheRightCells() throws {
    let cells = syntheticCells()
    let analysis = try ReportAnalysis(cells: cells, options: fastOptions)
    #expect(analysis.conditions == ["sequential", "semantic", "separate_agents"])
    #expect(analysis.settings.map(\.description) == ["none", "streaming@0.5"])
    #expect(analysis.scorers == ["judge", "verifiable"])
    let setting = ReportSetting(policy: "none", keepRatio: 1)
    let summary = try #require(analysis.summary(scorer: "verifiable", condition: "semantic", setting: setting))
    let expected = cells.filter { $0.condition == "semantic" && $0.policy == "none" && $0.error == nil }
        .sorted { $0.recordID < $1.recordID }.compactMap { $0.scores["verifiable"] }
    #expect(summary.n == 11 && summary.excludedCells == 1)
    #expect(abs(summary.mean! - mean(expected)!) < 1e-12)
    #expect(summary.interval == bootstrapMeanInterval(expected, resamples: 2000, seed: 7))
    let judge = try #require(analysis.summary(scorer: "judge", condition: "separate_agents",
                                              setting: ReportSetting(policy: "streaming", keepRatio: 0.5)))
    #expect(judge.n == 11 && judge.scorerErrors == 1 && judge.excludedCells == 0)
}

@Test func pairedComparisonsUseSharedCellsAndHolmAcrossAll() throws {
    let cells = syntheticCells()
    let analysis = try ReportAnalysis(cells: cells, options: fastOptions)
    // 2 scorers x 2 settings x 3 condition pairs.
    #expect(analysis.comparisons.count == 12)
    let c = try #require(analysis.comparisons.first {
        $0.scorer == "verifiable" && $0.setting.policy == "none" && $0.conditionA == "sequential" && $0.conditionB == "semantic"
    })
    // Records 6 (semantic failed) and 12 (sequential failed) have no pair.
    #expect(c.pairs == 10)
    func scores(_ condition: String) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: cells.filter { $0.condition == condition && $0.policy == "none" && $0.error == nil }
            .map { ($0.recordID, $0.scores["verifiable"]!) })
    }
    let a = scores("sequential"), b = scores("semantic")
    let shared = Set(a.keys).intersection(b.keys).sorted()
    let t = try pairedTTest(shared.map { a[$0]! }, shared.map { b[$0]! })
    #expect(c.tTest == t)
    #expect(c.wilcoxon == (try wilcoxonSignedRank(shared.map { a[$0]! }, shared.map { b[$0]! })))
    #expect(c.cohensDz == (try pairedCohensD(shared.map { a[$0]! }, shared.map { b[$0]! })))
    let tested = analysis.comparisons.filter { $0.tTest != nil }
    #expect(tested.map { $0.tHolm! } == holmAdjusted(tested.map { $0.tTest!.pValue }))
    #expect(tested.allSatisfy { $0.tHolm! >= $0.tTest!.pValue })
    let wilcoxonTested = analysis.comparisons.filter { $0.wilcoxon != nil }
    #expect(wilcoxonTested.map { $0.wilcoxonHolm! } == holmAdjusted(wilcoxonTested.map { $0.wilcoxon!.pValue }))
}

@Test func errorsAreCountedAndShown() throws {
    let report = try ExperimentReport(cells: syntheticCells(), options: fastOptions)
    let errors = Dictionary(uniqueKeysWithValues: report.analysis.errors.map { ($0.condition, $0) })
    #expect(errors["sequential"]?.excludedCells == 1 && errors["semantic"]?.excludedCells == 1)
    #expect(errors["separate_agents"]?.excludedCells == 0 && errors["separate_agents"]?.scorerErrors["judge"] == 1)
    #expect(report.analysis.errorMessages.map(\.count) == [2, 1])
    let markdown = report.markdown()
    #expect(markdown.contains("| separate_agents | 24 | 0 | 1 | 0 |"))
    #expect(markdown.contains("| 2 | cell: generation failed: out of memory |"))
    #expect(report.html().contains("judge: HTTP 500"))
    #expect(report.analysis.cellsCSV().contains(",judge: HTTP 500,,"))
}

@Test func sameCellsInAnyOrderGiveByteIdenticalFiles() throws {
    let cells = syntheticCells()
    let directoryA = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-report-a-\(UUID().uuidString)")
    let directoryB = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-report-b-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directoryA); try? FileManager.default.removeItem(at: directoryB) }
    try ExperimentReport(cells: cells, options: fastOptions).write(to: directoryA)
    var shuffled = cells
    var generator = SystemRandomNumberGenerator()
    shuffled.shuffle(using: &generator)
    let report = try ExperimentReport(cells: shuffled, options: fastOptions)
    try report.write(to: directoryB)
    let paths = report.files().map(\.path)
    #expect(paths.contains("report.html") && paths.contains("summary.csv") && paths.contains { $0.hasPrefix("plots/") })
    for path in paths {
        let a = try Data(contentsOf: directoryA.appendingPathComponent(path))
        let b = try Data(contentsOf: directoryB.appendingPathComponent(path))
        #expect(a == b, "\(path) differs")
        #expect(!a.isEmpty)
    }
    // Timings vary between runs of the same experiment, so no report file shows them.
    var timed = cells
    for i in timed.indices { timed[i].seconds += 1 }
    #expect(try ExperimentReport(cells: timed, options: fastOptions).files().map(\.contents) == report.files().map(\.contents))
    // A different score changes the report.
    var changed = cells
    changed[0].scores["verifiable"] = 0.99
    #expect(try ExperimentReport(cells: changed, options: fastOptions).markdown() != report.markdown())
}

@Test func chartsAreWellFormedSVGAndTheHTMLIsSelfContained() throws {
    let report = try ExperimentReport(cells: syntheticCells(), metadata: ReportMetadata(
        title: "Test <report> & co", model: "smollm2-135m", datasets: ["rdic_conflicts_v2"], config: "[experiment]\nseeds = [0]"),
        options: fastOptions)
    // Per scorer: one keep-ratio chart per compression policy, a heatmap, a distribution.
    #expect(report.charts.count == 6)
    for chart in report.charts {
        let document = try XMLDocument(data: Data(chart.svg.utf8))
        #expect(document.rootElement()?.name == "svg", "\(chart.fileName)")
    }
    let keepChart = try #require(report.charts.first { $0.fileName == "score-vs-keep-verifiable-streaming.svg" })
    let root = try #require(try XMLDocument(data: Data(keepChart.svg.utf8)).rootElement())
    // A line per condition, two points (none@1 and streaming@0.5) each.
    #expect(root.elements(forName: "polyline").count == 3)
    #expect(root.elements(forName: "circle").count == 6)
    let heatmap = try #require(report.charts.first { $0.fileName == "conflict-types-verifiable.svg" })
    #expect(try XMLDocument(data: Data(heatmap.svg.utf8)).rootElement()!.elements(forName: "rect").count == 9)

    let html = report.html()
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    #expect(html.contains("Test &lt;report&gt; &amp; co"))
    #expect(html.components(separatedBy: "<svg ").count - 1 == 6)
    #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("stylesheet"))
    #expect(html.contains("seeds = [0]"))
    let markdown = report.markdown()
    #expect(markdown.contains("![verifiable: mean score vs keep ratio (streaming)](plots/score-vs-keep-verifiable-streaming.svg)"))
}

@Test func duplicateCellsAndEmptyInputAreRejected() throws {
    let cells = syntheticCells()
    #expect(throws: ReportError.duplicateCell(condition: cells[0].condition, pairKey: cells[0].pairKey)) {
        try ReportAnalysis(cells: cells + [cells[0]])
    }
    #expect(throws: ReportError.noCells) { try ExperimentReport(cells: []) }
}

@Test func csvQuotesFieldsAndKeepsStableColumns() throws {
    var cells = syntheticCells()
    cells[0].error = "failed, with \"quotes\""
    let csv = try ReportAnalysis(cells: cells, options: fastOptions).cellsCSV()
    #expect(csv.hasPrefix("record_id,conflict_type,condition,policy,keep_ratio,seed,score_judge,score_verifiable,scorer_errors,error,"))
    #expect(csv.contains("\"failed, with \"\"quotes\"\"\""))
    #expect(csv.split(separator: "\n").count == cells.count + 1)
}

@Test func conditionsMissingFromASettingAreNotCompared() throws {
    let cells = syntheticCells().filter { !($0.condition == "separate_agents" && $0.policy == "streaming") }
    let analysis = try ReportAnalysis(cells: cells, options: fastOptions)
    let streaming = analysis.comparisons.filter { $0.setting.policy == "streaming" }
    #expect(streaming.count == 2 && streaming.allSatisfy { $0.scorer == "judge" || $0.scorer == "verifiable" })
    #expect(streaming.allSatisfy { $0.conditionA == "sequential" && $0.conditionB == "semantic" })
    #expect(analysis.comparisons.count == 8)
    // Its keep-ratio line has just the uncompressed point.
    let chart = analysis.scoreVsKeepRatio(scorer: "judge", policy: "streaming")
    #expect(chart.svg.components(separatedBy: "<circle").count - 1 == 5)
}

@Test func aBaselineLimitsComparisonsToItself() throws {
    var options = fastOptions
    options.baseline = "semantic"
    let analysis = try ReportAnalysis(cells: syntheticCells(), options: options)
    #expect(analysis.comparisons.count == 8)
    #expect(analysis.comparisons.allSatisfy { $0.conditionA == "semantic" && $0.conditionB != "semantic" })
    let tested = analysis.comparisons.filter { $0.tTest != nil }
    #expect(tested.map { $0.tHolm! } == holmAdjusted(tested.map { $0.tTest!.pValue }))
}
