import Agents
import Datasets
import Engine
import Foundation
import KVCache
import TestSupport
import Testing
@testable import Experiments

/// The cache-level conditions on the real SmolLM2: isolation between cluster caches, keep 1.0
/// identical to none, streaming's exact survivors, and memory that drops with the ratio.
@Suite(.computeBound, .serialized) struct CacheConditionTests {
    static let engine: Engine? = try? Engine(path: TestModels.path(for: .smollm2), contextLength: 2048)

    func runtime() throws -> AgentRuntime {
        var c = AgentRuntimeConfiguration()
        c.contextLength = 2048
        c.parallel = 2
        return try AgentRuntime(engine: try #require(Self.engine), configuration: c)
    }

    func config() -> ExperimentConfig {
        var c = ExperimentConfig(datasets: ["conflicts"], model: "smollm2-135m", maxTokens: 12, turnMaxTokens: 8)
        c.sampling.temperature = 0
        return c
    }

    func cell(_ record: ConflictRecord, _ condition: Condition, _ policy: String = "none", _ ratio: Double = 1) -> (CellScript, CellKey, PolicyChoice) {
        let script = try! CellScript(record: record, condition: condition, assignment: ClusterAssignment.groundTruth(record))
        return (script, CellKey(recordID: record.id, condition: condition, policy: policy, keepRatio: ratio, seed: 0),
                try! PolicyChoice(name: policy, keepRatio: ratio, seed: 0))
    }

    /// Interior tokens of `text` encoded alone: they appear unchanged wherever the text is encoded.
    func needle(_ text: String, engine: Engine) -> [Int32] {
        let t = engine.tokenizer.encode(text, addBOS: false, parseSpecial: false)
        return Array(t.dropFirst(2).dropLast(2))
    }

    func contains(_ haystack: [Int32], _ needle: [Int32]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    @Test func semanticCachesNeverSeeTheOtherClustersTurns() async throws {
        let rt = try runtime()
        let engine = rt.engine
        var runner = LocalCellRunner(runtime: rt, config: config())
        runner.keepAgents = true
        for record in try DatasetFile.read(BundledDatasets.conflicts).prefix(2) {
            let turns = record.instructionTurns.map { needle($0.content!, engine: engine) }
            let (script, key, policy) = cell(record, .semantic)
            let m = try await runner.run(script, key: key, policy: policy)
            let tenant = LocalCellRunner.tenant(for: key)
            for cluster in 0..<2 {
                let tokens = try #require(rt.tokens(tenant: tenant, id: LocalCellRunner.agentID(thread: cluster)))
                #expect(contains(tokens, turns[cluster]), "cluster \(cluster) lacks its own turn")
                #expect(!contains(tokens, turns[1 - cluster]), "cluster \(cluster) holds the other cluster's turn")
            }
            // The forks share the system prefix's blocks: together they hold less than apart.
            let ids = [0, 1].map(LocalCellRunner.agentID)
            let apart = ids.map { rt.distinctCacheBytes(tenant: tenant, ids: [$0]) }.reduce(0, +)
            #expect(m.cacheBytes == rt.distinctCacheBytes(tenant: tenant, ids: ids) && m.cacheBytes <= apart)
            #expect(m.versions.count == 2 && m.output.hasPrefix("Version 1: "))
            // One instruction per cluster: separate agents say exactly what the forks say, in more memory.
            let (sepScript, sepKey, sepPolicy) = cell(record, .separateAgents)
            let separate = try await runner.run(sepScript, key: sepKey, policy: sepPolicy)
            #expect(separate.answers == m.answers)
            #expect(separate.cacheBytes >= m.cacheBytes && separate.prefilledTokens > m.prefilledTokens)

            // The control: one shared cache holds both turns.
            let (seqScript, seqKey, seqPolicy) = cell(record, .sequential)
            _ = try await runner.run(seqScript, key: seqKey, policy: seqPolicy)
            let shared = try #require(rt.tokens(tenant: LocalCellRunner.tenant(for: seqKey), id: LocalCellRunner.agentID(thread: 0)))
            #expect(contains(shared, turns[0]) && contains(shared, turns[1]))
        }
        await rt.shutdown()
    }

    @Test func keepRatioOneGivesBitIdenticalLogitsToNone() async throws {
        let rt = try runtime()
        var runner = LocalCellRunner(runtime: rt, config: config())
        runner.finalLogprobs = 8
        let record = try #require(try DatasetFile.read(BundledDatasets.conflicts).first)
        for condition in [Condition.sequential, .semantic] {
            let (script, key, none) = cell(record, condition)
            let reference = try await runner.run(script, key: key, policy: none)
            #expect(!reference.finalLogprobs.flatMap { $0 }.isEmpty)
            for policy in ["streaming", "random", "h2o", "snapkv", "protect_last_turn:snapkv"] {
                let (_, k, p) = cell(record, condition, policy, 1)
                let m = try await runner.run(script, key: k, policy: p)
                #expect(m.finalLogprobs == reference.finalLogprobs, "\(condition) \(policy)@1.0")
                #expect(m.output == reference.output && m.cacheTokens == reference.cacheTokens)
            }
        }
        await rt.shutdown()
    }

    @Test func streamingKeepsExactlySinksAndWindowAndBytesDrop() async throws {
        let rt = try runtime()
        let engine = rt.engine
        let tenant = "streaming-test"
        try rt.createAgent(tenant: tenant, id: "a")
        let text = String(repeating: "The quick brown fox jumps over the lazy dog near the river bank. ", count: 24)
        let prompt = engine.encode(text)
        _ = try await rt.generate(AgentRequest(tenant: tenant, agent: "a", prompt: prompt,
                                               options: GenerationOptions(maxTokens: 1, sampling: .greedy)))
        let before = try #require(rt.tokens(tenant: tenant, id: "a"))
        #expect(before == prompt)
        let bytesBefore = rt.distinctCacheBytes(tenant: tenant, ids: ["a"])
        let budget = prompt.count / 4
        let kept = try rt.compress(tenant: tenant, id: "a", with: StreamingPolicy(sinks: 4), budget: budget)
        #expect(kept == Array(0..<4) + Array((prompt.count - (budget - 4))..<prompt.count))
        #expect(rt.tokens(tenant: tenant, id: "a") == kept.map { prompt[$0] })
        // Memory follows the kept tokens in whole blocks.
        let bytesAfter = rt.distinctCacheBytes(tenant: tenant, ids: ["a"])
        let blocks = { (tokens: Int) in (tokens + 63) / 64 }
        #expect(bytesAfter * blocks(prompt.count) == bytesBefore * blocks(budget))
        await rt.shutdown()
    }

    @Test func cellsCompressedToAHalfHoldLessCache() async throws {
        let rt = try runtime()
        let runner = LocalCellRunner(runtime: rt, config: config())
        let record = try #require(try DatasetFile.read(BundledDatasets.conflicts).first)
        let (script, key, none) = cell(record, .sequential)
        let full = try await runner.run(script, key: key, policy: none)
        for policy in ["streaming", "snapkv"] {
            let (_, k, p) = cell(record, .sequential, policy, 0.25)
            let m = try await runner.run(script, key: k, policy: p)
            #expect(m.cacheTokens < full.cacheTokens, "\(policy)")
            #expect(m.cacheBytes < full.cacheBytes, "\(policy)")
        }
        await rt.shutdown()
    }
}

/// The fork is a faithful copy: continuing a cache forked from the shared prefix gives exactly
/// the logits of continuing the prefix's own cache (semantic's clusters lose nothing by sharing).
@Suite(.computeBound) struct ForkFidelityTests {
    func firstLogprobs(_ rt: AgentRuntime, tenant: String, id: String, prompt: [Int32]) async throws -> [Float] {
        var options = GenerationOptions(maxTokens: 1, sampling: .greedy, logprobs: 8)
        options.stopAtEndOfGeneration = false
        var first: [Float] = []
        for try await event in try rt.submit(AgentRequest(tenant: tenant, agent: id, prompt: prompt, options: options)) {
            if case .token(let t) = event, first.isEmpty { first = t.topLogprobs.map(\.logprob) }
        }
        return first
    }

    @Test func continuingAForkEqualsContinuingTheOriginal() async throws {
        var c = AgentRuntimeConfiguration()
        c.contextLength = 2048
        let rt = try AgentRuntime(engine: try #require(CacheConditionTests.engine), configuration: c)
        let record = try #require(try DatasetFile.read(BundledDatasets.conflicts).first)
        let engine = rt.engine
        let prompts = record.instructionTurns.map { engine.encode(chat: [.user($0.content!)]) }
        let prefix = try #require(LocalCellRunner(runtime: rt, config: ExperimentConfig(datasets: [], model: "")).sharedPrefix(prompts))
        #expect(prefix.count > 8)
        try rt.createAgent(tenant: "t", id: "prefix")
        _ = try await firstLogprobs(rt, tenant: "t", id: "prefix", prompt: prefix)
        try rt.createAgent(tenant: "t", id: "fork", forkingFrom: "prefix")
        let forked = try await firstLogprobs(rt, tenant: "t", id: "fork", prompt: prompts[1])
        let original = try await firstLogprobs(rt, tenant: "t", id: "prefix", prompt: prompts[1])
        #expect(forked.count == 8 && forked == original)
        // The fork never wrote into the blocks it shares: the original continues as before.
        #expect(rt.tokens(tenant: "t", id: "fork") == prompts[1] && rt.tokens(tenant: "t", id: "prefix") == prompts[1])
        await rt.shutdown()
    }
}
