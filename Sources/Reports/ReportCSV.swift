import Statistics

/// The report's CSV tables: every cell, the group summaries, the comparisons, and means by
/// conflict type. Column names are stable so analysis scripts can read them.
extension ReportAnalysis {
    func cellsCSV() -> String {
        var out = csvLine(["record_id", "conflict_type", "condition", "policy", "keep_ratio", "seed"]
            + scorers.map { "score_\($0)" }
            + ["scorer_errors", "error", "prompt_tokens", "generated_tokens", "cache_bytes"])
        for cell in cells {
            let scorerErrors = cell.scorerErrors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            out += csvLine([cell.recordID, cell.conflictType, cell.condition, cell.policy, formatRatio(cell.keepRatio), String(cell.seed)]
                + scorers.map { csvNumber(cell.scores[$0]) }
                + [scorerErrors.joined(separator: "; "), cell.error ?? "", String(cell.promptTokens),
                   String(cell.generatedTokens), String(cell.cacheBytes)])
        }
        return out
    }

    func summaryCSV() -> String {
        var out = csvLine(["scorer", "condition", "policy", "keep_ratio", "n", "mean", "sd", "ci_low", "ci_high", "ci_level",
                           "scorer_errors", "excluded_cells", "mean_prompt_tokens", "mean_cache_bytes"])
        for s in summaries {
            out += csvLine([s.scorer, s.condition, s.setting.policy, formatRatio(s.setting.keepRatio), String(s.n),
                            csvNumber(s.mean), csvNumber(s.standardDeviation), csvNumber(s.interval?.lower),
                            csvNumber(s.interval?.upper), csvNumber(s.interval?.level), String(s.scorerErrors),
                            String(s.excludedCells), csvNumber(s.meanPromptTokens), csvNumber(s.meanCacheBytes)])
        }
        return out
    }

    func comparisonsCSV() -> String {
        var out = csvLine(["scorer", "policy", "keep_ratio", "condition_a", "condition_b", "pairs", "mean_difference",
                           "t", "t_p", "t_p_holm", "wilcoxon_w", "wilcoxon_p", "wilcoxon_p_holm", "wilcoxon_approximate",
                           "cohens_dz", "note"])
        for c in comparisons {
            out += csvLine([c.scorer, c.setting.policy, formatRatio(c.setting.keepRatio), c.conditionA, c.conditionB,
                            String(c.pairs), csvNumber(c.meanDifference), csvNumber(c.tTest?.statistic),
                            csvNumber(c.tTest?.pValue), csvNumber(c.tHolm), csvNumber(c.wilcoxon?.statistic),
                            csvNumber(c.wilcoxon?.pValue), csvNumber(c.wilcoxonHolm),
                            c.wilcoxon.map { $0.approximate ? "true" : "false" } ?? "", csvNumber(c.cohensDz), c.note ?? ""])
        }
        return out
    }

    func conflictTypesCSV() -> String {
        var out = csvLine(["scorer", "condition", "conflict_type", "n", "mean"])
        for scorer in scorers {
            for condition in conditions {
                for type in conflictTypes {
                    let values = scores(scorer) { $0.condition == condition && $0.conflictType == type }
                    if values.isEmpty { continue }
                    out += csvLine([scorer, condition, type, String(values.count), csvNumber(Statistics.mean(values))])
                }
            }
        }
        return out
    }
}
