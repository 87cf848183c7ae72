import Datasets
import Foundation
import Providers
import Statistics

/// Cluster assignments of a whole dataset: record id -> the runner's per-record assignment.
public typealias DatasetClusters = [String: ClusterAssignment]

/// The dataset's own clusters for every record that defines them (others are left out).
public func groundTruthClusters(_ records: [ConflictRecord]) -> DatasetClusters {
    var clusters: DatasetClusters = [:]
    for record in records { clusters[record.id] = try? ClusterAssignment.groundTruth(record) }
    return clusters
}

extension ClusterAssignment {
    /// One record's part of a model's clustering: its labels in order of first appearance.
    init(modelLabels: [(turn: Int, label: String)], source: String) {
        var labels: [String] = [], turns: [Int: Int] = [:]
        for (turn, label) in modelLabels.sorted(by: { $0.turn < $1.turn }) {
            if !labels.contains(label) { labels.append(label) }
            turns[turn] = labels.firstIndex(of: label)!
        }
        self.init(labels: labels, turns: turns, source: source)
    }

    /// The partition alone (turn -> cluster numbered by first appearance), so assignments that
    /// split a record's turns alike compare equal whatever their labels and order.
    public var partition: [Int: Int] {
        var renumbered: [Int: Int] = [:], result: [Int: Int] = [:]
        for turn in turns.keys.sorted() {
            let index = turns[turn]!
            let cluster = renumbered[index] ?? { renumbered[index] = renumbered.count; return renumbered.count - 1 }()
            result[turn] = cluster
        }
        return result
    }
}

/// Every (record, turn) of a dataset's clusters in a fixed order, for turn-by-turn comparison.
func orderedTurns(_ clusters: DatasetClusters) -> [TurnKey] {
    clusters.keys.sorted().flatMap { record in clusters[record]!.turns.keys.sorted().map { TurnKey(recordID: record, turnID: $0) } }
}

/// Labels unique per record ("record#index"), so partitions compare within records only.
func recordScopedLabels(_ clusters: DatasetClusters, _ turns: [TurnKey]) -> [String] {
    turns.map { key in clusters[key.recordID]?.turns[key.turnID].map { "\(key.recordID)#\($0)" } ?? "\(key)#missing" }
}

/// A turn across the whole dataset, written "record_id:turn_id" in prompts and answers.
public struct TurnKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var recordID: String
    public var turnID: Int

    public init(recordID: String, turnID: Int) {
        self.recordID = recordID
        self.turnID = turnID
    }

    public var description: String { "\(recordID):\(turnID)" }

    public static func < (l: Self, r: Self) -> Bool { (l.recordID, l.turnID) < (r.recordID, r.turnID) }
}

/// Why a clustering could not be obtained.
public enum ClusteringError: Error, Sendable, Equatable, CustomStringConvertible {
    case noInstructions
    /// The answer was not a usable JSON clustering (the reason says why).
    case malformedAnswer(String)
    /// Every attempt gave a malformed answer; the last reason is kept.
    case gaveUp(attempts: Int, lastReason: String)

    public var description: String {
        switch self {
        case .noInstructions: return "the dataset has no instruction turns to cluster"
        case .malformedAnswer(let reason): return "malformed clustering answer: \(reason)"
        case .gaveUp(let attempts, let reason): return "no usable clustering after \(attempts) attempts; last: \(reason)"
        }
    }
}

/// One clustering of a dataset by the model.
public struct ClusteringRun: Sendable, Equatable {
    /// The model's own labels, turn by turn across the dataset.
    public var labels: [TurnKey: String]
    /// The same clusters per record, as the runner takes them (`ExperimentRunner.assignments`).
    public var assignments: DatasetClusters
    /// Requests it took (malformed answers are retried).
    public var attempts: Int
}

/// Agreement between two partitions of the same turns.
public struct PartitionAgreement: Sendable, Hashable {
    public var adjustedRandIndex: Double
    public var normalizedMutualInformation: Double
}

/// k clusterings of one dataset: how stable they are and how well they match the ground truth.
public struct ClusteringStudy: Sendable {
    public var runs: [ClusteringRun]
    /// Every pair of runs (i < j) on the model's dataset-wide clusters.
    public var betweenRuns: [(first: Int, second: Int, agreement: PartitionAgreement)]
    /// Every pair of runs on the per-record assignments (what isolation actually uses).
    public var betweenRunsWithinRecords: [(first: Int, second: Int, agreement: PartitionAgreement)]
    /// Each run against the ground truth, within records.
    public var groundTruth: [PartitionAgreement]
    /// Per run, the fraction of records whose turns are split exactly as the ground truth.
    public var exactRecordMatch: [Double]
}

/// Asks a reasoning model (DeepSeek R1 or any `ChatProvider`) to group a whole dataset's
/// instructions into semantic clusters, as JSON mapping a label to turn ids.
public struct ReasoningClusterer: Sendable {
    public var provider: any ChatProvider
    public var model: String
    public var maxTokens: Int
    public var temperature: Double?
    /// Requests per run before giving up on malformed answers.
    public var maxAttempts: Int
    /// Stored with each cell as the assignment's source.
    public var source: String { model.isEmpty ? "reasoning_model" : model }

    public init(provider: any ChatProvider, model: String = "", maxTokens: Int = 8192, temperature: Double? = nil,
                maxAttempts: Int = 3) {
        self.provider = provider
        self.model = model
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.maxAttempts = maxAttempts
    }

    public static let system = "You group instructions by meaning. Answer with JSON only."

    public static func prompt(for records: [ConflictRecord]) -> String {
        var lines = [
            "Below are instructions from a dataset of conversations, one per line as `<turn id>: <instruction>`.",
            "Group them into semantic clusters: instructions asking for the same kind of output (tone, style, format,",
            "level of detail, audience) belong together; instructions that conflict with each other must be in different",
            "clusters. Return a JSON object mapping a short snake_case cluster label to the list of turn ids (strings)",
            "in that cluster. Every turn id must appear in exactly one cluster.", "",
        ]
        for (key, text) in instructions(records) { lines.append("\(key): \(text.replacingOccurrences(of: "\n", with: " "))") }
        return lines.joined(separator: "\n")
    }

    static func instructions(_ records: [ConflictRecord]) -> [(TurnKey, String)] {
        records.flatMap { record in
            record.instructionTurns.map { (TurnKey(recordID: record.id, turnID: $0.turnID), $0.instruction ?? $0.content ?? "") }
        }
    }

    /// One clustering; a malformed answer is retried up to `maxAttempts` times, then an error.
    public func cluster(_ records: [ConflictRecord], seed: Int? = nil) async throws -> ClusteringRun {
        let keys = Self.instructions(records).map(\.0)
        guard !keys.isEmpty else { throw ClusteringError.noInstructions }
        let request = ChatRequest(model: model, messages: [ChatMessage(role: .user, content: Self.prompt(for: records))],
                                  system: Self.system, maxTokens: maxTokens, temperature: temperature, seed: seed)
        var lastReason = ""
        for attempt in 1...max(maxAttempts, 1) {
            let response = try await provider.complete(request)
            do {
                let labels = try parseClusterAnswer(response.text, turns: keys)
                return ClusteringRun(labels: labels, assignments: assignments(from: labels, source: source), attempts: attempt)
            } catch {
                lastReason = error.description
            }
        }
        throw ClusteringError.gaveUp(attempts: max(maxAttempts, 1), lastReason: lastReason)
    }

    /// `k` clusterings (seeds 0..<k where the backend honours seeds), compared pairwise and
    /// against the ground truth.
    public func study(_ records: [ConflictRecord], runs k: Int) async throws -> ClusteringStudy {
        var runs: [ClusteringRun] = []
        for index in 0..<k { runs.append(try await cluster(records, seed: index)) }
        return try ClusteringStudy(runs: runs, groundTruth: groundTruthClusters(records))
    }
}

func assignments(from labels: [TurnKey: String], source: String) -> DatasetClusters {
    var byRecord: [String: [(turn: Int, label: String)]] = [:]
    for (key, label) in labels { byRecord[key.recordID, default: []].append((key.turnID, label)) }
    return byRecord.mapValues { ClusterAssignment(modelLabels: $0, source: source) }
}

extension ClusteringStudy {
    public init(runs: [ClusteringRun], groundTruth truth: DatasetClusters) throws {
        self.runs = runs
        let turns = orderedTurns(truth)
        let truthLabels = recordScopedLabels(truth, turns)
        betweenRuns = []
        betweenRunsWithinRecords = []
        for i in runs.indices {
            for j in runs.indices where j > i {
                let global = turns.map { runs[i].labels[$0] ?? "" }, other = turns.map { runs[j].labels[$0] ?? "" }
                betweenRuns.append((i, j, try agreement(global, other)))
                betweenRunsWithinRecords.append((i, j, try agreement(recordScopedLabels(runs[i].assignments, turns),
                                                                     recordScopedLabels(runs[j].assignments, turns))))
            }
        }
        groundTruth = try runs.map { try agreement(recordScopedLabels($0.assignments, turns), truthLabels) }
        exactRecordMatch = runs.map { run in
            let matching = truth.filter { record, assignment in run.assignments[record]?.partition == assignment.partition }
            return Double(matching.count) / Double(max(truth.count, 1))
        }
    }
}

extension ClusteringStudy {
    /// A few lines for a terminal or a report: mean (min) ARI and NMI between runs and against
    /// the ground truth.
    public var summary: String {
        func line(_ name: String, _ values: [PartitionAgreement]) -> String {
            guard !values.isEmpty else { return "\(name): n/a (needs at least two runs)" }
            let ari = values.map(\.adjustedRandIndex), nmi = values.map(\.normalizedMutualInformation)
            return "\(name): ARI \(format(mean(ari)!)) (min \(format(ari.min()!))), NMI \(format(mean(nmi)!)) (min \(format(nmi.min()!)))"
        }
        func format(_ value: Double) -> String { String(format: "%.3f", value) }
        return [
            "\(runs.count) clustering run(s), \(runs.map(\.attempts).reduce(0, +)) request(s)",
            line("between runs, dataset-wide clusters", betweenRuns.map(\.agreement)),
            line("between runs, within records", betweenRunsWithinRecords.map(\.agreement)),
            line("against ground truth, within records", groundTruth),
            "records split exactly as the ground truth: \(exactRecordMatch.map { format($0) }.joined(separator: ", "))",
        ].joined(separator: "\n")
    }
}

func agreement(_ a: [String], _ b: [String]) throws -> PartitionAgreement {
    PartitionAgreement(adjustedRandIndex: try adjustedRandIndex(a, b), normalizedMutualInformation: try normalizedMutualInformation(a, b))
}

// MARK: Reading the answer

/// The clustering in a model's answer: the last JSON object in the text that maps labels to
/// lists of turn ids, found inside or outside code fences and around reasoning prose (a
/// `<think>` block is skipped). It must place every turn in `turns` exactly once and name no
/// other turn; anything else is `malformedAnswer`, never a partial clustering.
public func parseClusterAnswer(_ text: String, turns: [TurnKey]) throws(ClusteringError) -> [TurnKey: String] {
    var answer = text
    while let open = answer.range(of: "<think>"), let close = answer.range(of: "</think>", range: open.upperBound..<answer.endIndex) {
        answer.removeSubrange(open.lowerBound..<close.upperBound)
    }
    let known = Dictionary(uniqueKeysWithValues: turns.map { ($0.description, $0) })
    guard let clusters = jsonObjectCandidates(answer).reversed().lazy.compactMap(decodeClusters).first else {
        throw .malformedAnswer("no JSON object mapping cluster labels to lists of turn ids")
    }
    var labels: [TurnKey: String] = [:]
    for (label, ids) in clusters.sorted(by: { $0.key < $1.key }) {
        for id in ids {
            guard let key = known[id.trimmingCharacters(in: .whitespaces)] else { throw .malformedAnswer("unknown turn id \"\(id)\"") }
            if let previous = labels[key] { throw .malformedAnswer("turn \(key) is in both \(previous) and \(label)") }
            labels[key] = label
        }
    }
    let missing = turns.filter { labels[$0] == nil }
    guard missing.isEmpty else {
        throw .malformedAnswer("\(missing.count) turn(s) in no cluster, e.g. \(missing.prefix(3).map(\.description).joined(separator: ", "))")
    }
    return labels
}

/// Label -> ids, accepting ids written as numbers too; nil for any other shape.
private func decodeClusters(_ json: Substring) -> [String: [String]]? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], !object.isEmpty else { return nil }
    var clusters: [String: [String]] = [:]
    for (label, value) in object {
        guard let list = value as? [Any] else { return nil }
        var ids: [String] = []
        for item in list {
            if let id = item as? String { ids.append(id) } else if let number = item as? NSNumber { ids.append(number.stringValue) } else { return nil }
        }
        clusters[label] = ids
    }
    return clusters
}

/// Top-level balanced `{...}` spans in prose, skipping braces inside JSON strings.
func jsonObjectCandidates(_ text: String) -> [Substring] {
    var spans: [Substring] = []
    var index = text.startIndex
    while let open = text[index...].firstIndex(of: "{") {
        if let close = matchingBrace(text, from: open) {
            spans.append(text[open...close])
            index = text.index(after: close)
        } else {
            index = text.index(after: open)
        }
    }
    return spans
}

private func matchingBrace(_ text: String, from open: String.Index) -> String.Index? {
    var depth = 0, inString = false, escaped = false
    var index = open
    while index < text.endIndex {
        let c = text[index]
        if inString {
            if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
        } else if c == "\"" {
            inString = true
        } else if c == "{" {
            depth += 1
        } else if c == "}" {
            depth -= 1
            if depth == 0 { return index }
        }
        index = text.index(after: index)
    }
    return nil
}
