/// Errors of an experiment run that concern its inputs (a cell's own failure is stored, not thrown).
public enum ExperimentError: Error, Sendable, Equatable, CustomStringConvertible {
    case badRecord(String, String)
    case datasetNotFound(String)
    /// A cache-level condition or a compression policy asked of a model behind a text API.
    case needsLocalModel(String)
    /// The chat template renders an earlier conversation differently once it grows, so turns
    /// cannot be appended to a cache.
    case templateNotIncremental
    case store(String)
    case clustersFile(String, String)
    case settingsChanged(stored: String, requested: String)

    public var description: String {
        switch self {
        case .badRecord(let id, let why): "record \(id): \(why)"
        case .datasetNotFound(let name): "no dataset '\(name)': use a bundled name (conflicts, multiturn) or a path to a JSON or JSONL file"
        case .needsLocalModel(let what): "\(what) needs a local model (the cache is manipulated inside the engine); text APIs run only sequential, prompted, turn_based and separate_agents with policy none"
        case .templateNotIncremental: "the chat template does not render a conversation as a prefix of its continuation"
        case .store(let why): "results database: \(why)"
        case .clustersFile(let path, let why): "cluster assignments \(path): \(why)"
        case .settingsChanged(let stored, let requested):
            "the database holds cells made with other settings; use a new --db (or the old settings)\n  stored:    \(stored)\n  requested: \(requested)"
        }
    }
}
