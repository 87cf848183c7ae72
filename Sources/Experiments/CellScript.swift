import Foundation
import Datasets

/// The conversations one cell runs: one thread per KV cache, each a list of user messages
/// (the last one asks for output), as the condition lays the record's turns out.
public struct CellScript: Sendable, Equatable {
    public struct Thread: Sendable, Equatable {
        /// The cluster whose version this thread's last answer is (per-cluster conditions).
        public var cluster: Int?
        public var userMessages: [String]
    }

    public var threads: [Thread]
    /// The cluster labels, in version order.
    public var labels: [String]
    /// Threads fork one cache holding the shared system prefix (semantic, random_clusters).
    public var sharesPrefix: Bool
    /// Each thread's last answer is one version, joined "Version 1: ... Version 2: ...";
    /// otherwise the one thread's last answer holds both versions.
    public var perCluster: Bool

    public init(record: ConflictRecord, condition: Condition, assignment: ClusterAssignment) throws(ExperimentError) {
        guard let query = record.queryTurn?.query, !query.isEmpty else { throw .badRecord(record.id, "the last turn has no query") }
        let labels = assignment.labels
        let names = labels.map(Self.readable)
        self.labels = labels
        perCluster = condition.isPerCluster
        sharesPrefix = condition == .semantic || condition == .randomClusters
        let instructions = record.instructionTurns
        if let empty = instructions.first(where: { ($0.content ?? "").isEmpty }) {
            throw .badRecord(record.id, "turn \(empty.turnID) has no content")
        }
        if condition.isPerCluster {
            threads = labels.indices.map { index in
                let turns = assignment.turns(of: index, in: record).map { $0.content ?? "" }
                return Thread(cluster: index, userMessages: turns + ["\(query)\n\nWrite only the \(names[index]) version."])
            }
            return
        }
        var messages = instructions.map { $0.content ?? "" }
        messages.append("\(query)\n\nAnswer with \"Version 1 (\(names[0])):\" followed by that version, then "
                        + "\"Version 2 (\(names[1])):\" followed by that version.")
        switch condition {
        case .prompted:
            messages[0] = "IMPORTANT: keep the following topics separate: \(names[0]) and \(names[1]).\n\n" + messages[0]
        case .turnBased:
            messages = messages.enumerated().map { "[Turn \($0.offset + 1)] \($0.element)" }
        default: break
        }
        threads = [Thread(cluster: nil, userMessages: messages)]
    }

    /// `with_citations` -> "with citations".
    static func readable(_ label: String) -> String { label.replacingOccurrences(of: "_", with: " ") }

    /// The cell's output and its versions (one per cluster, in label order) from each thread's
    /// last answer. A single answer is split at its "Version 2" marker; without one, the whole
    /// answer is version 1 and version 2 is empty (the model did not give it).
    public func output(lastAnswers: [String]) -> (text: String, versions: [String]) {
        if perCluster {
            let text = lastAnswers.enumerated().map { "Version \($0.offset + 1): \($0.element)" }.joined(separator: "\n\n")
            return (text, lastAnswers)
        }
        let answer = lastAnswers.first ?? ""
        return (answer, Self.splitVersions(answer, count: labels.count))
    }

    /// Splits "Version 1 (...): a ... Version 2 (...): b" into [a, b] (case-insensitive markers).
    static func splitVersions(_ answer: String, count: Int) -> [String] {
        var versions: [String] = []
        var rest = Substring(answer)
        for n in 1...max(1, count) {
            let marker = rest.range(of: "version \(n)", options: .caseInsensitive)
            let next = rest.range(of: "version \(n + 1)", options: .caseInsensitive)
            if n == 1, marker == nil || (next != nil && next!.lowerBound < marker!.lowerBound) {
                // No "Version 1" marker: version 1 is what precedes "Version 2".
                versions.append(stripHeader(rest[..<(next?.lowerBound ?? rest.endIndex)]))
                rest = next.map { rest[$0.lowerBound...] } ?? rest[rest.endIndex...]
                continue
            }
            guard let marker else { versions.append(""); continue }
            let body = rest[marker.upperBound...]
            let end = n < count ? body.range(of: "version \(n + 1)", options: .caseInsensitive)?.lowerBound ?? body.endIndex : body.endIndex
            versions.append(stripHeader(body[..<end]))
            rest = body[end...]
        }
        return versions
    }

    /// Drops a marker's trailing "(label):" and surrounding punctuation.
    private static func stripHeader(_ text: Substring) -> String {
        var t = text.drop { $0 == " " || $0 == "\t" }
        if t.first == "(", let close = t.firstIndex(of: ")"), t.distance(from: t.startIndex, to: close) < 60 {
            t = t[t.index(after: close)...]
        }
        return t.trimmingCharacters(in: CharacterSet(charactersIn: ":*#-–— \n\t"))
    }
}
