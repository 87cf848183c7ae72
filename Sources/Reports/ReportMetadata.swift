/// What the report says about the run itself. Nothing here may vary between runs of the same
/// experiment (no timestamps), or a resumed run's report would differ from an uninterrupted one.
public struct ReportMetadata: Sendable, Hashable {
    public var title: String
    public var model: String?
    public var datasets: [String]
    /// The experiment's configuration text (e.g. its TOML), shown verbatim.
    public var config: String?
    /// Further lines to show under the title (hardware, runner version, ...).
    public var notes: [String]

    public init(title: String = "RDIC experiment report", model: String? = nil, datasets: [String] = [],
                config: String? = nil, notes: [String] = []) {
        self.title = title
        self.model = model
        self.datasets = datasets
        self.config = config
        self.notes = notes
    }
}
