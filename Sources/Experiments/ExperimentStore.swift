import Foundation
import GRDB
import Reports

/// The results database: one row per finished cell, written in one transaction when the cell is
/// complete (a killed run loses only cells in flight, never leaves half a row), plus the planned
/// cells so `status` can say how many remain.
public final class ExperimentStore: Sendable {
    public let path: String
    private let queue: DatabaseQueue

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS planned (
                        key TEXT PRIMARY KEY, record_id TEXT NOT NULL, condition TEXT NOT NULL, policy TEXT NOT NULL,
                        keep_ratio REAL NOT NULL, seed INTEGER NOT NULL);
                    CREATE TABLE IF NOT EXISTS cells (
                        key TEXT PRIMARY KEY, record_id TEXT NOT NULL, conflict_type TEXT NOT NULL, condition TEXT NOT NULL,
                        policy TEXT NOT NULL, keep_ratio REAL NOT NULL, seed INTEGER NOT NULL,
                        dataset TEXT NOT NULL, model TEXT NOT NULL, clusters TEXT NOT NULL,
                        prompt_tokens INTEGER NOT NULL, prefilled_tokens INTEGER NOT NULL, generated_tokens INTEGER NOT NULL,
                        cache_tokens INTEGER NOT NULL, cache_bytes INTEGER NOT NULL,
                        seconds REAL NOT NULL, prefill_seconds REAL NOT NULL, decode_seconds REAL NOT NULL,
                        output TEXT NOT NULL, versions TEXT NOT NULL, answers TEXT NOT NULL,
                        scores TEXT NOT NULL, scorer_errors TEXT NOT NULL, error TEXT, finished_at TEXT NOT NULL);
                    """)
            }
        } catch {
            throw ExperimentError.store("cannot open \(path): \(error)")
        }
    }

    /// Records the run's settings, or refuses a run whose settings differ from those the
    /// database's cells were made with (resuming would mix two experiments in one table).
    public func adopt(settings: String) throws {
        try write { db in
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'settings'") {
                guard stored == settings else { throw ExperimentError.settingsChanged(stored: stored, requested: settings) }
            } else {
                try db.execute(sql: "INSERT INTO meta (name, value) VALUES ('settings', ?)", arguments: [settings])
            }
        }
    }

    /// Records the cells a run intends (idempotent: a re-run with the same grid adds nothing).
    public func plan(_ keys: [CellKey]) throws {
        try write { db in
            for k in keys {
                try db.execute(sql: "INSERT OR IGNORE INTO planned (key, record_id, condition, policy, keep_ratio, seed) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [k.id, k.recordID, k.condition.rawValue, k.policy, k.keepRatio, k.seed])
            }
        }
    }

    /// Keys of the cells already finished (with or without an error).
    public func finishedKeys() throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT key FROM cells")) }
    }

    /// Forgets the cells that failed, so the next run tries them again.
    @discardableResult
    public func removeFailed() throws -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM cells WHERE error IS NOT NULL")
            return db.changesCount
        }
    }

    /// Writes one finished cell, whole, in its own transaction.
    public func save(_ r: CellResult) throws {
        let m = r.measurement
        try write { db in
            try db.execute(sql: """
                INSERT INTO cells (key, record_id, conflict_type, condition, policy, keep_ratio, seed, dataset, model, clusters,
                    prompt_tokens, prefilled_tokens, generated_tokens, cache_tokens, cache_bytes, seconds, prefill_seconds,
                    decode_seconds, output, versions, answers, scores, scorer_errors, error, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    r.key.id, r.key.recordID, r.conflictType, r.key.condition.rawValue, r.key.policy, r.key.keepRatio, r.key.seed,
                    r.dataset, r.model, try json(r.clusters), m.promptTokens, m.prefilledTokens, m.generatedTokens,
                    m.cacheTokens, m.cacheBytes, r.seconds, m.prefillSeconds, m.decodeSeconds, m.output, try json(m.versions),
                    try json(m.answers), try json(r.scores), try json(r.scorerErrors), r.error,
                    ISO8601DateFormatter().string(from: Date()),
                ])
        }
    }

    /// Every finished cell, as stored (ordered by key).
    public func results() throws -> [CellResult] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cells ORDER BY key").map { row in
                guard let condition = Condition(rawValue: row["condition"]) else {
                    throw ExperimentError.store("unknown condition '\(row["condition"] as String)' in row \(row["key"] as String)")
                }
                var m = CellMeasurement()
                m.output = row["output"]
                m.versions = try decode(row["versions"])
                m.answers = try decode(row["answers"])
                m.promptTokens = row["prompt_tokens"]
                m.prefilledTokens = row["prefilled_tokens"]
                m.generatedTokens = row["generated_tokens"]
                m.cacheTokens = row["cache_tokens"]
                m.cacheBytes = row["cache_bytes"]
                m.prefillSeconds = row["prefill_seconds"]
                m.decodeSeconds = row["decode_seconds"]
                let key = CellKey(recordID: row["record_id"], condition: condition, policy: row["policy"],
                                  keepRatio: row["keep_ratio"], seed: row["seed"])
                return CellResult(key: key, conflictType: row["conflict_type"], dataset: row["dataset"], model: row["model"],
                                  clusters: try decode(row["clusters"]), measurement: m, seconds: row["seconds"],
                                  scores: try decode(row["scores"]), scorerErrors: try decode(row["scorer_errors"]),
                                  error: row["error"])
            }
        }
    }

    /// Every finished cell as the report reads it.
    public func reportCells() throws -> [ReportCell] { try results().map(\.reportCell) }

    /// Progress per condition: planned cells, finished ones, and how many of those failed.
    public struct ConditionStatus: Sendable, Equatable {
        public var condition: String
        public var planned: Int
        public var done: Int
        public var errors: Int
        public var scorerErrors: Int
    }

    public func status() throws -> [ConditionStatus] {
        try read { db in
            var byCondition: [String: ConditionStatus] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT condition, COUNT(*) AS n FROM planned GROUP BY condition") {
                let c: String = row["condition"]
                byCondition[c] = ConditionStatus(condition: c, planned: row["n"], done: 0, errors: 0, scorerErrors: 0)
            }
            let sql = """
                SELECT condition, COUNT(*) AS n, SUM(error IS NOT NULL) AS failed, SUM(scorer_errors != '{}') AS scorer_failed
                FROM cells GROUP BY condition
                """
            for row in try Row.fetchAll(db, sql: sql) {
                let c: String = row["condition"]
                var s = byCondition[c] ?? ConditionStatus(condition: c, planned: 0, done: 0, errors: 0, scorerErrors: 0)
                s.done = row["n"]
                s.errors = row["failed"]
                s.scorerErrors = row["scorer_failed"]
                s.planned = max(s.planned, s.done)
                byCondition[c] = s
            }
            let order = Condition.allCases.map(\.rawValue)
            return byCondition.values.sorted { (order.firstIndex(of: $0.condition) ?? 99, $0.condition) < (order.firstIndex(of: $1.condition) ?? 99, $1.condition) }
        }
    }

    /// The distinct error messages of failed cells, with counts (most frequent first).
    public func errorSummary(limit: Int = 10) throws -> [(message: String, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT error, COUNT(*) AS n FROM cells WHERE error IS NOT NULL GROUP BY error ORDER BY n DESC LIMIT ?",
                             arguments: [limit]).map { row -> (message: String, count: Int) in (row["error"], row["n"]) }
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.read(body) } catch let e as ExperimentError { throw e } catch { throw ExperimentError.store("\(error)") }
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch let e as ExperimentError { throw e } catch { throw ExperimentError.store("\(error)") }
    }
}

private func json<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

private func decode<T: Decodable>(_ text: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(text.utf8))
}
