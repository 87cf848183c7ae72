import Foundation
import GRDB
import Reports

extension ExperimentStore {
    /// The run's recorded settings (model, sampling, lengths, scorers), if a run adopted any.
    public func settings() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'settings'") }
    }

    /// The report over every finished cell: model and datasets as the cells record them, the
    /// run's settings as its configuration text unless `config` (e.g. the TOML) is given.
    public func report(title: String = "RDIC experiment report", config: String? = nil,
                       options: ReportOptions = ReportOptions()) throws -> ExperimentReport {
        let results = try results()
        guard !results.isEmpty else { throw ExperimentError.store("no finished cells in the database yet") }
        let metadata = ReportMetadata(title: title, model: Set(results.map(\.model)).sorted().joined(separator: ", "),
                                      datasets: Set(results.map(\.dataset)).sorted(), config: try config ?? settings())
        return try ExperimentReport(cells: results.map(\.reportCell), metadata: metadata, options: options)
    }
}
