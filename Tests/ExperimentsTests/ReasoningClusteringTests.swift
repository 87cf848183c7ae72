import Datasets
import Foundation
import Providers
import Statistics
import Testing
import TestSupport
@testable import Experiments

/// A fake reasoning model behind the real OpenAI chat-completions wire protocol on loopback:
/// it reads the turn ids from the prompt it is sent and answers with a clustering built by
/// `cluster(requestIndex, turnIDs)`, wrapped the way DeepSeek R1 answers (reasoning in
/// `reasoning_content`, prose and a fenced JSON block in `content`).
private final class FakeReasoningModel: Sendable {
    let server: LocalHTTPServer
    let transport = HTTPTransport(retryPolicy: RetryPolicy(maxRetries: 0))
    private let count = CallCounter(0)

    init(answer: @escaping @Sendable (_ index: Int, _ turnIDs: [String]) -> String) throws {
        let count = self.count
        server = try LocalHTTPServer { request in
            let index = count.withLock { value in defer { value += 1 }; return value }
            let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
            let messages = body["messages"] as? [[String: Any]] ?? []
            let prompt = messages.last?["content"] as? String ?? ""
            let ids = prompt.split(separator: "\n").compactMap { line -> String? in
                guard let colon = line.range(of: ": ") else { return nil }
                let id = String(line[..<colon.lowerBound])
                return id.contains(":") && !id.contains(" ") ? id : nil
            }
            let message: [String: Any] = ["role": "assistant", "content": answer(index, ids),
                                          "reasoning_content": "Let me group these {by tone} and format."]
            let response: [String: Any] = [
                "id": "chatcmpl-\(index)", "object": "chat.completion", "created": 1_700_000_000, "model": "deepseek-reasoner",
                "choices": [["index": 0, "message": message, "finish_reason": "stop"]],
                "usage": ["prompt_tokens": 900, "completion_tokens": 300, "total_tokens": 1200],
            ]
            let data = try! JSONSerialization.data(withJSONObject: response, options: [.sortedKeys])
            return .init(status: 200, headers: [("Content-Type", "application/json")], body: Array(data))
        }
    }

    var provider: OpenAICompatibleProvider {
        OpenAICompatibleProvider(transport: transport, baseURL: server.baseURL + "/v1", apiKey: "sk-test")
    }

    func stop() async throws {
        server.stop()
        try await transport.shutdown()
    }
}

private final class CallCounter<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}

/// R1's answer shape: prose, then the JSON in a fence.
private func fenced(_ clusters: [String: [String]]) -> String {
    let json = String(decoding: try! JSONSerialization.data(withJSONObject: clusters, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self)
    return "Here is the grouping {as requested}:\n\n```json\n\(json)\n```\nEach instruction appears once."
}

/// Turn 1 of every record to one cluster, turn 2 to another: the ground truth's split.
private func byTurn(_ ids: [String]) -> [String: [String]] {
    Dictionary(grouping: ids) { $0.hasSuffix(":1") ? "first_style" : "second_style" }
}

private let records: [ConflictRecord] = try! DatasetFile.read(BundledDatasets.conflicts)

@Test func reasoningModelClusteringMatchingTheGroundTruthScoresOne() async throws {
    let fake = try FakeReasoningModel { _, ids in fenced(byTurn(ids)) }
    let clusterer = ReasoningClusterer(provider: fake.provider, model: "deepseek-reasoner")
    let study = try await clusterer.study(records, runs: 2)
    try await fake.stop()

    #expect(study.runs.count == 2 && study.runs.allSatisfy { $0.attempts == 1 })
    let truth = groundTruthClusters(records)
    #expect(truth.count == records.count)
    #expect(study.runs[0].assignments.mapValues(\.partition) == truth.mapValues(\.partition))
    let first = try #require(study.runs[0].assignments["conflict_001"])
    #expect(first.labels == ["first_style", "second_style"] && first.turns == [1: 0, 2: 1] && first.source == "deepseek-reasoner")
    #expect(study.groundTruth.allSatisfy { $0.adjustedRandIndex == 1 && abs($0.normalizedMutualInformation - 1) < 1e-12 })
    #expect(study.betweenRuns.count == 1 && study.betweenRuns[0].agreement.adjustedRandIndex == 1)
    #expect(study.exactRecordMatch == [1, 1])
    // On the wire: one chat completion per run, the model, the seed, every instruction in the prompt.
    let sent = fake.server.requests
    #expect(sent.count == 2 && sent.allSatisfy { $0.path == "/v1/chat/completions" })
    let body = try #require(try JSONSerialization.jsonObject(with: Data(sent[1].body)) as? [String: Any])
    #expect(body["model"] as? String == "deepseek-reasoner" && body["seed"] as? Int == 1)
    let prompt = try #require((body["messages"] as? [[String: Any]])?.last?["content"] as? String)
    #expect(prompt.contains("conflict_001:1: Address it to our external partners"))
    #expect(records.allSatisfy { record in record.instructionTurns.allSatisfy { prompt.contains("\(record.id):\($0.turnID): ") } })
}

@Test func unstableClusteringsAreMeasuredAgainstEachOtherAndTheTruth() async throws {
    // Run 1 merges both turns of every third record into one cluster; run 0 is correct.
    let fake = try FakeReasoningModel { index, ids in
        var clusters = byTurn(ids)
        if index == 1 {
            let merged = Set(records.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.id))
            let isMerged = { (id: String) in merged.contains(String(id.split(separator: ":")[0])) }
            clusters = clusters.mapValues { $0.filter { !isMerged($0) } }
            clusters["merged"] = ids.filter(isMerged)
        }
        return fenced(clusters)
    }
    let study = try await ReasoningClusterer(provider: fake.provider).study(records, runs: 2)
    try await fake.stop()

    // Independent expectation: per-record labels written out directly.
    var truth: [String] = [], merged: [String] = []
    for (offset, record) in records.enumerated() {
        let isMerged = offset % 3 == 0
        truth += ["\(record.id)#0", "\(record.id)#1"]
        merged += isMerged ? ["\(record.id)#0", "\(record.id)#0"] : ["\(record.id)#0", "\(record.id)#1"]
    }
    let expectedARI = try adjustedRandIndex(merged, truth)
    #expect(expectedARI < 1)
    #expect(abs(study.groundTruth[1].adjustedRandIndex - expectedARI) < 1e-12)
    #expect(abs(study.groundTruth[1].normalizedMutualInformation - (try normalizedMutualInformation(merged, truth))) < 1e-12)
    #expect(study.groundTruth[0].adjustedRandIndex == 1)
    #expect(study.betweenRunsWithinRecords[0].agreement.adjustedRandIndex == study.groundTruth[1].adjustedRandIndex)
    #expect(study.betweenRuns[0].agreement.adjustedRandIndex < 1)
    let mergedCount = Double(records.indices.filter { $0 % 3 == 0 }.count)
    #expect(abs(study.exactRecordMatch[1] - (1 - mergedCount / Double(records.count))) < 1e-12)
    #expect(study.runs[1].assignments[records[0].id]?.turns == [1: 0, 2: 0])
    #expect(study.runs[1].assignments[records[0].id]?.labels == ["merged"])
}

@Test func malformedAnswersAreRetriedThenReportedNeverDefaulted() async throws {
    let fake = try FakeReasoningModel { index, ids in
        switch index {
        case 0: return "I could not decide."
        case 1: return fenced(byTurn(Array(ids.dropLast())))  // one turn missing
        default: return fenced(byTurn(ids))
        }
    }
    let run = try await ReasoningClusterer(provider: fake.provider, maxAttempts: 3).cluster(records)
    #expect(run.attempts == 3 && run.assignments.mapValues(\.partition) == groundTruthClusters(records).mapValues(\.partition))
    try await fake.stop()

    let broken = try FakeReasoningModel { _, ids in fenced(["all": ids + ["conflict_999:1"]]) }
    await #expect(throws: ClusteringError.gaveUp(attempts: 2, lastReason: "malformed clustering answer: unknown turn id \"conflict_999:1\"")) {
        try await ReasoningClusterer(provider: broken.provider, maxAttempts: 2).cluster(records)
    }
    #expect(broken.server.requests.count == 2)
    try await broken.stop()
}

@Test func answerParsingFindsTheLastClusteringAroundReasoning() throws {
    let turns = [TurnKey(recordID: "r1", turnID: 1), TurnKey(recordID: "r1", turnID: 2), TurnKey(recordID: "r2", turnID: 1)]
    let think = "<think>Maybe {\"a\": [\"r1:1\"]} but no.</think>Final answer: {\"formal\": [\"r1:1\", \"r2:1\"], \"casual\": [\"r1:2\"]} done"
    let labels = try parseClusterAnswer(think, turns: turns)
    #expect(labels[turns[0]] == "formal" && labels[turns[1]] == "casual" && labels[turns[2]] == "formal")
    // A brace inside a label string does not end the object.
    #expect(try parseClusterAnswer("{\"a}b\": [\"r1:1\", \"r1:2\"], \"c\": [\"r2:1\"]}", turns: turns)[turns[0]] == "a}b")
    #expect(throws: ClusteringError.malformedAnswer("turn r1:1 is in both a and b")) {
        try parseClusterAnswer("{\"a\": [\"r1:1\", \"r1:2\", \"r2:1\"], \"b\": [\"r1:1\"]}", turns: turns)
    }
    #expect(throws: ClusteringError.malformedAnswer("no JSON object mapping cluster labels to lists of turn ids")) {
        try parseClusterAnswer("```json\n{\"a\": \"r1:1\"}\n```", turns: turns)
    }
    #expect(throws: ClusteringError.malformedAnswer("1 turn(s) in no cluster, e.g. r2:1")) {
        try parseClusterAnswer("{\"a\": [\"r1:1\", \"r1:2\"]}", turns: turns)
    }
}

@Test func partitionsCompareSplitsNotLabels() throws {
    let multiTurn = try DatasetFile.read(BundledDatasets.multiTurn)
    let truth = groundTruthClusters(multiTurn)
    let first = try #require(truth[multiTurn[0].id]) // turns: casual_caption, formal_announcement, casual_caption, ...
    #expect(first.partition[1] == 0 && first.partition[2] == 1 && first.partition[3] == 0)
    // The same split under other names and numbering is the same partition.
    let renamed = ClusterAssignment(labels: ["b", "a"], turns: first.turns.mapValues { 1 - $0 }, source: "test")
    #expect(renamed.partition == first.partition)
    let model = ClusterAssignment(modelLabels: [(2, "formal"), (1, "casual"), (3, "casual")], source: "m")
    #expect(model.labels == ["casual", "formal"] && model.turns == [1: 0, 2: 1, 3: 0])
}

@Test func studySummaryStatesStabilityAndAgreement() throws {
    let truth = groundTruthClusters(Array(records.prefix(2)))
    let keys = orderedTurns(truth)
    let exact = ClusteringRun(labels: Dictionary(uniqueKeysWithValues: keys.map { ($0, $0.turnID == 1 ? "a" : "b") }),
                              assignments: truth, attempts: 1)
    let study = try ClusteringStudy(runs: [exact, exact], groundTruth: truth)
    #expect(study.summary.contains("2 clustering run(s), 2 request(s)"))
    #expect(study.summary.contains("against ground truth, within records: ARI 1.000 (min 1.000), NMI 1.000 (min 1.000)"))
}
