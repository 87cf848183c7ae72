import AtomicWrites
import Foundation

/// An experiment's report: statistics computed from its cells, written as markdown, one
/// self-contained HTML page, SVG plots and CSV tables. The same cells (in any order) and
/// metadata always give byte-identical files.
public struct ExperimentReport: Sendable {
    public let metadata: ReportMetadata
    public let analysis: ReportAnalysis
    public let charts: [ReportChart]

    public static let tableFiles = ["cells.csv", "summary.csv", "comparisons.csv", "conflict_types.csv"]

    public init(cells: [ReportCell], metadata: ReportMetadata = ReportMetadata(),
                options: ReportOptions = ReportOptions()) throws(ReportError) {
        guard !cells.isEmpty else { throw .noCells }
        self.metadata = metadata
        analysis = try ReportAnalysis(cells: cells, options: options)
        charts = analysis.charts()
    }

    /// Every file of the report by its path relative to the report directory.
    public func files() -> [(path: String, contents: String)] {
        [("report.md", markdown()), ("report.html", html()),
         ("cells.csv", analysis.cellsCSV()), ("summary.csv", analysis.summaryCSV()),
         ("comparisons.csv", analysis.comparisonsCSV()), ("conflict_types.csv", analysis.conflictTypesCSV())]
            + charts.map { ("plots/\($0.fileName)", $0.svg) }
    }

    /// Writes every file under `directory` (created if needed), each atomically.
    public func write(to directory: URL) throws(ReportError) {
        for (path, contents) in files() {
            let url = directory.appendingPathComponent(path)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try AtomicFile.write(Data(contents.utf8), to: url)
            } catch {
                throw .writeFailed(path: url.path, reason: error.localizedDescription)
            }
        }
    }
}
