import Statistics

/// A chart as a file name (for the markdown's image links) and its SVG text.
public struct ReportChart: Sendable, Hashable {
    public var scorer: String
    public var fileName: String
    public var title: String
    public var svg: String
}

extension ReportAnalysis {
    /// Policies drawn against keep ratio: each compression policy, anchored at `none` (keep 1).
    var chartPolicies: [String] {
        let policies = settings.map(\.policy).filter { $0 != "none" }
        return policies.isEmpty ? ["none"] : policies.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }

    func charts() -> [ReportChart] {
        scorers.flatMap { scorer in
            chartPolicies.map { scoreVsKeepRatio(scorer: scorer, policy: $0) }
                + [conflictTypeHeatmap(scorer: scorer), distribution(scorer: scorer)]
        }
    }

    /// Mean score (with its interval as a bar) against keep ratio, a line per condition.
    func scoreVsKeepRatio(scorer: String, policy: String) -> ReportChart {
        let title = "\(scorer): mean score vs keep ratio (\(policy))"
        let (left, top, plotW, plotH) = (56.0, 34.0, 330.0, 240.0)
        var svg = SVGCanvas(width: left + plotW + 140, height: top + plotH + 52, label: title)
        svg.text(left, 20, title, bold: true)
        let x = { (ratio: Double) in left + ratio * plotW }, y = { (score: Double) in top + (1 - score) * plotH }
        drawScoreAxis(&svg, left: left, top: top, width: plotW, height: plotH)
        for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
            svg.line(x(tick), top + plotH, x(tick), top + plotH + 5, stroke: "#444")
            svg.text(x(tick), top + plotH + 18, formatRatio(tick), anchor: .middle, size: 11)
        }
        svg.text(left + plotW / 2, top + plotH + 40, "keep ratio", anchor: .middle, size: 12)
        for (index, condition) in conditions.enumerated() {
            let colour = color(forConditionAt: index)
            let points = settings.filter { $0.policy == policy || $0.policy == "none" }
                .compactMap { setting -> (Double, GroupSummary)? in
                    guard let s = summary(scorer: scorer, condition: condition, setting: setting), s.mean != nil else { return nil }
                    return (setting.keepRatio, s)
                }
                .sorted { $0.0 < $1.0 }
            svg.polyline(points.map { (x($0.0), y($0.1.mean!)) }, stroke: colour)
            for (ratio, s) in points {
                if let interval = s.interval { svg.line(x(ratio), y(interval.lower), x(ratio), y(interval.upper), stroke: colour, width: 1.5) }
                svg.circle(x(ratio), y(s.mean!), r: 3.5, fill: colour,
                           title: "\(condition) @ \(formatRatio(ratio)): \(meanWithInterval(s)), n=\(s.n)")
            }
            svg.rect(left + plotW + 16, top + Double(index) * 20, 12, 12, fill: colour)
            svg.text(left + plotW + 34, top + Double(index) * 20 + 11, condition, size: 12)
        }
        return ReportChart(scorer: scorer, fileName: "score-vs-keep-\(slug(scorer))-\(slug(policy)).svg", title: title, svg: svg.render())
    }

    /// Mean score per condition and conflict type, every setting pooled.
    func conflictTypeHeatmap(scorer: String) -> ReportChart {
        let title = "\(scorer): mean score by condition and conflict type (all settings pooled)"
        let longestType = Double(conflictTypes.map(\.count).max() ?? 4)
        let (left, cellW, cellH) = (130.0, 58.0, 26.0)
        let top = 40 + min(longestType, 40) * 5
        let width = max(left + Double(conflictTypes.count) * cellW + min(longestType, 40) * 4.5, 520)
        var svg = SVGCanvas(width: width, height: top + Double(conditions.count) * cellH + 16, label: title)
        svg.text(8, 20, title, bold: true)
        for (column, type) in conflictTypes.enumerated() {
            svg.text(left + (Double(column) + 0.5) * cellW, top - 8, type, size: 11, rotate: -45)
        }
        for (row, condition) in conditions.enumerated() {
            let rowY = top + Double(row) * cellH
            svg.text(left - 8, rowY + cellH / 2 + 4, condition, anchor: .end, size: 12)
            for (column, type) in conflictTypes.enumerated() {
                let values = scores(scorer) { $0.condition == condition && $0.conflictType == type }
                let cellX = left + Double(column) * cellW
                guard let m = Statistics.mean(values) else {
                    svg.rect(cellX, rowY, cellW, cellH, fill: "#e0e0e0", stroke: "#fff", title: "\(condition) / \(type): no scores")
                    continue
                }
                svg.rect(cellX, rowY, cellW, cellH, fill: heatColor(m), stroke: "#fff", title: "\(condition) / \(type): \(fixed(m)), n=\(values.count)")
                svg.text(cellX + cellW / 2, rowY + cellH / 2 + 4, fixed(m, 2), anchor: .middle, size: 11, fill: m > 0.55 ? "#fff" : "#222")
            }
        }
        return ReportChart(scorer: scorer, fileName: "conflict-types-\(slug(scorer)).svg", title: title, svg: svg.render())
    }

    /// Every score per condition as a jittered strip over a box of its quartiles and range.
    func distribution(scorer: String) -> ReportChart {
        let title = "\(scorer): scores per condition (all settings pooled)"
        let (left, top, slot, plotH) = (56.0, 44.0, 92.0, 240.0)
        let plotW = slot * Double(max(conditions.count, 1))
        var svg = SVGCanvas(width: max(left + plotW + 20, 520), height: top + plotH + 40, label: title)
        svg.text(left, 20, title, bold: true)
        svg.text(left, 36, "box: quartiles and range; black square: mean with its 95% bootstrap interval", size: 11, fill: "#555")
        drawScoreAxis(&svg, left: left, top: top, width: plotW, height: plotH)
        let y = { (score: Double) in top + (1 - score) * plotH }
        for (index, condition) in conditions.enumerated() {
            let colour = color(forConditionAt: index)
            let centre = left + (Double(index) + 0.5) * slot
            let values = scores(scorer) { $0.condition == condition }
            svg.text(centre, top + plotH + 18, condition, anchor: .middle, size: 10.5)
            guard !values.isEmpty else { continue }
            let sorted = values.sorted()
            let (q1, median, q3) = (quantile(sorted: sorted, 0.25), quantile(sorted: sorted, 0.5), quantile(sorted: sorted, 0.75))
            svg.line(centre, y(sorted.first!), centre, y(sorted.last!), stroke: "#555")
            svg.rect(centre - 22, y(q3), 44, max(y(q1) - y(q3), 1), fill: "#ffffff", stroke: "#555",
                     title: "\(condition): median \(fixed(median)), quartiles \(fixed(q1))-\(fixed(q3)), n=\(values.count)")
            svg.line(centre - 22, y(median), centre + 22, y(median), stroke: "#222", width: 2)
            for (i, value) in values.enumerated() {
                // Golden-ratio jitter: spread evenly, identical on every run.
                let offset = ((Double(i) * 0.618_033_988_75).truncatingRemainder(dividingBy: 1) - 0.5) * slot * 0.7
                svg.circle(centre + offset, y(value), r: 2.5, fill: colour, opacity: 0.55)
            }
            // The mean and its interval on top, the one summary that also reads for 0/1 scores.
            let m = Statistics.mean(values)!
            if let interval = bootstrapMeanInterval(values, resamples: 1000) {
                svg.line(centre + 30, y(interval.lower), centre + 30, y(interval.upper), stroke: "#111", width: 1.5)
            }
            svg.rect(centre + 26, y(m) - 4, 8, 8, fill: "#111", title: "\(condition): mean \(fixed(m)), n=\(values.count)")
        }
        return ReportChart(scorer: scorer, fileName: "distribution-\(slug(scorer)).svg", title: title, svg: svg.render())
    }

    private func drawScoreAxis(_ svg: inout SVGCanvas, left: Double, top: Double, width: Double, height: Double) {
        for step in 0...5 {
            let value = Double(step) / 5, lineY = top + (1 - value) * height
            svg.line(left, lineY, left + width, lineY, stroke: step == 0 ? "#444" : "#e4e4e4")
            svg.text(left - 8, lineY + 4, fixed(value, 1), anchor: .end, size: 11)
        }
        svg.line(left, top, left, top + height, stroke: "#444")
        svg.text(16, top + height / 2, "score", anchor: .middle, size: 12, rotate: -90)
    }
}
