import Agents
import Datasets
import Foundation
import Providers

/// Where a run's conversations go: the local engine's agents runtime (every condition and
/// policy), or a chat provider (the text-level conditions, uncompressed).
public enum ExperimentBackend: Sendable {
    case local(AgentRuntime)
    case provider(any ChatProvider)
}

/// One cell to run: its key and the record it reads.
public struct PlannedCell: Sendable {
    public var key: CellKey
    public var record: ConflictRecord
    public var dataset: String
}

/// Where a run stands, for a progress bar.
public struct ExperimentProgress: Sendable, Equatable {
    public var total: Int
    /// Finished before this run started (skipped).
    public var skipped: Int
    /// Finished by this run so far.
    public var done: Int
    public var errors: Int
    public var elapsed: Double
    /// Seconds left at this run's pace (nil until a cell has finished).
    public var eta: Double? {
        guard done > 0 else { return nil }
        return elapsed / Double(done) * Double(total - skipped - done)
    }
}

/// Runs an experiment's grid into a store: plans every cell, skips the finished ones, runs the
/// rest `parallel` at a time, scores each and saves it the moment it is complete.
public struct ExperimentRunner: Sendable {
    public var config: ExperimentConfig
    public var backend: ExperimentBackend
    public var store: ExperimentStore
    public var scorer: CellScorer
    /// Cluster assignments by record id (e.g. a reasoning model's); records without one use
    /// the dataset's ground truth.
    public var assignments: [String: ClusterAssignment]

    public init(config: ExperimentConfig, backend: ExperimentBackend, store: ExperimentStore, scorer: CellScorer,
                assignments: [String: ClusterAssignment] = [:]) throws {
        if case .provider = backend {
            if let c = config.conditions.first(where: { !$0.isTextLevel }) { throw ExperimentError.needsLocalModel("condition \(c.rawValue)") }
            if let p = config.policies.first(where: { $0 != "none" }) { throw ExperimentError.needsLocalModel("policy \(p)") }
        }
        self.config = config
        self.backend = backend
        self.store = store
        self.scorer = scorer
        self.assignments = assignments
    }

    /// The records of the config's datasets (bundled names or paths), first `records` of each.
    public static func loadRecords(_ config: ExperimentConfig) throws -> [(dataset: String, record: ConflictRecord)] {
        var out: [(String, ConflictRecord)] = []
        var seen = Set<String>()
        for name in config.datasets {
            let url: URL
            switch name {
            case "conflicts", "rdic_conflicts_v2": url = BundledDatasets.conflicts
            case "multiturn", "multiturn_v2": url = BundledDatasets.multiTurn
            default:
                guard FileManager.default.fileExists(atPath: name) else { throw ExperimentError.datasetNotFound(name) }
                url = URL(fileURLWithPath: name)
            }
            var records = try DatasetFile.read(url)
            if let limit = config.records { records = Array(records.prefix(limit)) }
            for r in records {
                guard seen.insert(r.id).inserted else { throw ExperimentError.badRecord(r.id, "the id appears twice in the datasets") }
                out.append((name, r))
            }
        }
        return out
    }

    /// Every cell of the grid, in a stable order.
    public func plan() throws -> [PlannedCell] {
        var cells: [PlannedCell] = []
        for (dataset, record) in try Self.loadRecords(config) {
            for condition in config.conditions {
                for (policy, ratio) in config.compressionSettings {
                    for seed in config.seeds {
                        cells.append(PlannedCell(key: CellKey(recordID: record.id, condition: condition, policy: policy,
                                                              keepRatio: ratio, seed: seed),
                                                 record: record, dataset: dataset))
                    }
                }
            }
        }
        return cells
    }

    /// Runs the cells not yet in the store; returns the final progress.
    @discardableResult
    public func run(progress: @escaping @Sendable (ExperimentProgress) -> Void = { _ in }) async throws -> ExperimentProgress {
        let cells = try plan()
        try store.adopt(settings: config.settings)
        try store.plan(cells.map(\.key))
        let finished = try store.finishedKeys()
        let todo = cells.filter { !finished.contains($0.key.id) }
        let started = Date()
        var state = ExperimentProgress(total: cells.count, skipped: cells.count - todo.count, done: 0, errors: 0, elapsed: 0)
        progress(state)
        try await withThrowingTaskGroup(of: CellResult?.self) { group in
            var pending = todo.makeIterator()
            let work = { (cell: PlannedCell) in { @Sendable () async throws -> CellResult? in
                if Task.isCancelled { return nil }
                return try await self.runCell(cell)
            } }
            for _ in 0..<max(1, config.parallel) { if let cell = pending.next() { group.addTask(operation: work(cell)) } }
            while let result = try await group.next() {
                if let result {
                    try store.save(result)
                    state.done += 1
                    if result.error != nil { state.errors += 1 }
                    state.elapsed = Date().timeIntervalSince(started)
                    progress(state)
                }
                if let cell = pending.next() { group.addTask(operation: work(cell)) }
            }
        }
        return state
    }

    /// Runs and scores one cell. A failure becomes the cell's `error`; cancellation throws
    /// (the cell is not saved and runs again next time).
    public func runCell(_ cell: PlannedCell) async throws -> CellResult {
        let start = Date()
        let key = cell.key
        var assignment = assignments[cell.record.id] ?? (try? ClusterAssignment.groundTruth(cell.record))
            ?? ClusterAssignment(labels: cell.record.groundTruthClusters, turns: [:], source: "none")
        if key.condition == .randomClusters {
            assignment = ClusterAssignment.random(cell.record, clusters: assignment.labels, seed: key.seed)
        }
        var result = CellResult(key: key, conflictType: cell.record.conflictType, dataset: cell.dataset, model: config.model,
                                clusters: assignment, measurement: CellMeasurement(), seconds: 0)
        do {
            let script = try CellScript(record: cell.record, condition: key.condition, assignment: assignment)
            switch backend {
            case .local(let runtime):
                let policy = try PolicyChoice(name: key.policy, keepRatio: key.keepRatio, seed: key.seed)
                result.measurement = try await LocalCellRunner(runtime: runtime, config: config).run(script, key: key, policy: policy)
            case .provider(let provider):
                result.measurement = try await TextCellRunner(provider: provider, config: config).run(script, key: key)
            }
            (result.scores, result.scorerErrors) = await scorer.score(result.measurement.versions, record: cell.record,
                                                                      labels: assignment.labels)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            result.error = "\(error)"
        }
        result.seconds = Date().timeIntervalSince(start)
        return result
    }
}
