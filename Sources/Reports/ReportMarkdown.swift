/// The report's text sections, shared by markdown and HTML so both say the same thing.
extension ReportAnalysis {
    var overviewLines: [String] {
        let excluded = cells.filter { $0.error != nil }.count
        return [
            "Cells: \(cells.count) (\(excluded) excluded for a generation error)",
            "Conditions: \(conditions.joined(separator: ", "))",
            "Settings (policy@keep ratio): \(settings.map(\.description).joined(separator: ", "))",
            "Scorers: \(scorers.joined(separator: ", "))",
        ]
    }

    var methodsNote: String {
        let level = summaries.first?.interval.map { Int(($0.level * 100).rounded()) } ?? 95
        return "Means with percentile bootstrap \(level)% intervals (seeded, so reproducible). Conditions are compared on "
            + "paired cells (same record, policy, keep ratio and seed): paired t-test and Wilcoxon signed-rank "
            + "(two-sided; zero differences dropped; exact below 51 untied pairs, else normal approximation with tie and "
            + "continuity correction), paired Cohen's d_z = mean difference / sd of differences. p-values are "
            + "Holm-adjusted across all \(comparisons.count) comparisons, separately for each test. Errored cells are "
            + "excluded from every statistic; a scorer error is not a score."
    }

    /// Rows of the means table for one scorer: a row per condition, a column per setting.
    func meansRows(scorer: String) -> [[String]] {
        conditions.map { condition in
            [condition] + settings.map { setting in
                guard let s = summary(scorer: scorer, condition: condition, setting: setting), s.n > 0 else { return "–" }
                return "\(meanWithInterval(s)) n=\(s.n)"
            }
        }
    }

    static let comparisonHeader = ["setting", "A", "B", "pairs", "mean A−B", "t", "t p (Holm)", "W", "W p (Holm)", "d_z", "note"]

    func comparisonRows(scorer: String) -> [[String]] {
        comparisons.filter { $0.scorer == scorer }.map { c in
            [c.setting.description, c.conditionA, c.conditionB, String(c.pairs), fixed(c.meanDifference),
             fixed(c.tTest?.statistic, 2), "\(formatP(c.tTest?.pValue)) (\(formatP(c.tHolm)))",
             c.wilcoxon.map { fixed($0.statistic, 1) + ($0.approximate ? "" : " exact") } ?? "n/a",
             "\(formatP(c.wilcoxon?.pValue)) (\(formatP(c.wilcoxonHolm)))", fixed(c.cohensDz, 2), c.note ?? ""]
        }
    }

    /// One line per scorer on how many comparisons stay significant after Holm.
    func significanceLine(scorer: String, alpha: Double = 0.05) -> String {
        let mine = comparisons.filter { $0.scorer == scorer }
        let t = mine.filter { ($0.tHolm ?? 1) < alpha }.count, w = mine.filter { ($0.wilcoxonHolm ?? 1) < alpha }.count
        return "\(mine.count) comparisons; significant at \(alpha) after Holm: \(t) by paired t, \(w) by Wilcoxon"
    }

    var errorHeader: [String] { ["condition", "cells", "excluded (cell error)"] + scorers.map { "\($0) errors" } }

    var errorRows: [[String]] {
        errors.map { e in
            [e.condition, String(e.cells), String(e.excludedCells)] + scorers.map { String(e.scorerErrors[$0] ?? 0) }
        }
    }
}

extension ExperimentReport {
    public func markdown() -> String {
        var out = "# \(metadata.title)\n\n"
        for line in metadataLines + analysis.overviewLines { out += "- \(line)\n" }
        out += "\n"
        if let config = metadata.config {
            out += "## Configuration\n\n```\n\(config.hasSuffix("\n") ? config : config + "\n")```\n\n"
        }
        out += "## Mean scores\n\n\(analysis.methodsNote)\n\n"
        for scorer in analysis.scorers {
            out += "### \(scorer)\n\n" + markdownTable(["condition"] + analysis.settings.map(\.description), analysis.meansRows(scorer: scorer)) + "\n"
        }
        out += "## Paired comparisons\n\n"
        for scorer in analysis.scorers {
            out += "### \(scorer)\n\n\(analysis.significanceLine(scorer: scorer))\n\n" + markdownTable(ReportAnalysis.comparisonHeader, analysis.comparisonRows(scorer: scorer)) + "\n"
        }
        out += "## Errors\n\n" + markdownTable(analysis.errorHeader, analysis.errorRows) + "\n"
        if !analysis.errorMessages.isEmpty {
            out += markdownTable(["count", "message"], analysis.errorMessages.map { [String($0.count), $0.message] }) + "\n"
        }
        out += "## Plots\n\n"
        for chart in charts { out += "![\(chart.title)](plots/\(chart.fileName))\n\n" }
        out += "## Files\n\n" + ExperimentReport.tableFiles.map { "- [\($0)](\($0))\n" }.joined()
        return out
    }

    var metadataLines: [String] {
        (metadata.model.map { ["Model: \($0)"] } ?? [])
            + (metadata.datasets.isEmpty ? [] : ["Datasets: \(metadata.datasets.joined(separator: ", "))"])
            + metadata.notes
    }
}
