import Plot

extension ExperimentReport {
    /// One self-contained page: inline CSS and SVG, no scripts, no external assets.
    public func html() -> String {
        let a = analysis
        let page = HTML(
            .head(.encoding(.utf8), .title(metadata.title), .style(Self.css)),
            .body(
                .h1(.text(metadata.title)),
                .ul(.forEach(metadataLines + a.overviewLines) { .li(.text($0)) }),
                .unwrap(metadata.config) { config in
                    .details(.summary(.text("Configuration")), .pre(.code(.text(config))))
                },
                .h2(.text("Mean scores")),
                .p(.class("note"), .text(a.methodsNote)),
                .forEach(a.scorers) { scorer in
                    .group(.h3(.text(scorer)), meansTable(scorer))
                },
                .h2(.text("Plots")),
                .forEach(a.scorers) { scorer in
                    .group(.h3(.text(scorer)), .forEach(charts.filter { $0.scorer == scorer }) { chart in
                        .div(.class("chart"), .raw(chart.svg))
                    })
                },
                .h2(.text("Paired comparisons")),
                .forEach(a.scorers) { scorer in
                    .details(.summary(.strong(.text(scorer + ": ")), .text(a.significanceLine(scorer: scorer))),
                             table(ReportAnalysis.comparisonHeader, a.comparisonRows(scorer: scorer)))
                },
                .h2(.text("Errors")),
                table(a.errorHeader, a.errorRows),
                .if(!a.errorMessages.isEmpty, table(["count", "message"], a.errorMessages.map { [String($0.count), $0.message] })),
                .h2(.text("Files")),
                .ul(.forEach(Self.tableFiles) { .li(.a(.href($0), .text($0))) })
            )
        )
        return page.render(indentedBy: .spaces(1)) + "\n"
    }

    private func table<Context: HTML.BodyContext>(_ header: [String], _ rows: [[String]]) -> Node<Context> {
        .div(.class("scroll"), .table(
            .thead(.tr(.forEach(header) { .th(.text($0)) })),
            .tbody(.forEach(rows) { row in .tr(.forEach(row) { .td(.text($0)) }) })
        ))
    }

    /// Means with the interval and n on a second, smaller line, so wide tables stay readable.
    private func meansTable(_ scorer: String) -> Node<HTML.BodyContext> {
        let a = analysis
        return .div(.class("scroll"), .table(
            .thead(.tr(.th(.text("condition")), .forEach(a.settings) { .th(.text($0.description)) })),
            .tbody(.forEach(a.conditions) { condition in
                .tr(.td(.text(condition)), .forEach(a.settings) { setting in
                    let summary = a.summary(scorer: scorer, condition: condition, setting: setting)
                    guard let summary, let mean = summary.mean else { return .td(.text("–")) }
                    let interval = summary.interval.map { "[\(fixed($0.lower)), \(fixed($0.upper))] " } ?? ""
                    return .td(.strong(.text(fixed(mean))), .span(.class("ci"), .text("\(interval)n=\(summary.n)")))
                })
            })
        ))
    }

    static let css = """
    body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1150px; color: #222; padding: 0 16px; }
    h1 { font-size: 24px; } h2 { margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
    table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
    th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; white-space: nowrap; }
    .scroll { overflow-x: auto; } .ci { display: block; font-size: 11px; color: #666; }
    details { margin: 8px 0; } summary { cursor: pointer; font-size: 14px; padding: 4px 0; }
    th { background: #f4f6f8; } tr:nth-child(even) td { background: #fafafa; }
    .note { font-size: 13px; color: #555; max-width: 900px; }
    .chart { display: inline-block; margin: 8px 16px 8px 0; vertical-align: top; }
    pre { background: #f6f8fa; padding: 12px; overflow-x: auto; font-size: 12px; }
    """
}
