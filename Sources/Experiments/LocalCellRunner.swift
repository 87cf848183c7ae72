import Agents
import Engine
import Foundation
import KVCache

/// Runs a cell's threads on the agents runtime, one agent (KV cache) per thread, compressing
/// each cache after every turn. Threads of a cell and cells run at once share the runtime's
/// batched forward passes.
public struct LocalCellRunner: Sendable {
    public let runtime: AgentRuntime
    public var system: String?
    public var sampling: ExperimentConfig.Sampling
    public var maxTokens: Int
    public var turnMaxTokens: Int
    /// Top log-probabilities to record for each token of the last answers (tests; 0: none).
    public var finalLogprobs = 0
    /// Leave the cell's agents in the runtime (tests inspect their caches); else they are deleted.
    public var keepAgents = false

    public init(runtime: AgentRuntime, config: ExperimentConfig) {
        self.runtime = runtime
        system = config.system
        sampling = config.sampling
        maxTokens = config.maxTokens
        turnMaxTokens = config.turnMaxTokens
    }

    /// The tenant a cell's agents live under: cells never share (or see) each other's caches.
    public static func tenant(for key: CellKey) -> String { "experiment:\(key.id)" }
    public static func agentID(thread: Int) -> String { "thread-\(thread)" }

    public func run(_ script: CellScript, key: CellKey, policy: PolicyChoice) async throws -> CellMeasurement {
        let tenant = Self.tenant(for: key)
        let ids = script.threads.indices.map(Self.agentID)
        defer {
            if !keepAgents { for id in ids + ["prefix"] { try? runtime.deleteAgent(tenant: tenant, id: id) } }
        }
        var transcripts = script.threads.map { _ in Transcript(engine: runtime.engine, system: system) }
        for i in transcripts.indices { _ = try transcripts[i].addUser(script.threads[i].userMessages[0]) }
        let statistics = policy.isNone ? nil : policy.policy(lastTurnStart: 0)
        var starts = [ThreadStart](repeating: ThreadStart(cached: []), count: ids.count)
        var m = CellMeasurement()
        if script.perCluster, let prefix = sharedPrefix(transcripts.map(\.tokens)) {
            if script.sharesPrefix {
                // The system prefix runs once; every cluster's cache is a copy-on-write fork of it.
                try runtime.createAgent(tenant: tenant, id: "prefix")
                m.count(prefill: try await generate(tenant: tenant, id: "prefix", prompt: prefix, maxTokens: 1, seed: 0))
                for id in ids { try runtime.createAgent(tenant: tenant, id: id, forkingFrom: "prefix", gatheringFor: statistics) }
                try runtime.deleteAgent(tenant: tenant, id: "prefix")
            } else {
                // Separate agents each run the same prefix first, in a cache of their own: their
                // numbers then match the forks' exactly, and only the sharing differs.
                for id in ids {
                    try runtime.createAgent(tenant: tenant, id: id, gatheringFor: statistics)
                    m.count(prefill: try await generate(tenant: tenant, id: id, prompt: prefix, maxTokens: 1, seed: 0))
                }
            }
            starts = ids.map { _ in ThreadStart(cached: prefix) }
        } else {
            for id in ids { try runtime.createAgent(tenant: tenant, id: id, gatheringFor: statistics) }
        }
        let results = try await withThrowingTaskGroup(of: (Int, ThreadOutcome).self) { group in
            for (i, thread) in script.threads.enumerated() {
                let transcript = transcripts[i], start = starts[i]
                group.addTask {
                    (i, try await self.runThread(thread, index: i, transcript: transcript, start: start,
                                                 tenant: tenant, key: key, policy: policy))
                }
            }
            var outcomes = [ThreadOutcome?](repeating: nil, count: ids.count)
            for try await (i, outcome) in group { outcomes[i] = outcome }
            return outcomes.map { $0! }
        }
        for r in results {
            m.answers.append(r.answers)
            m.promptTokens += r.finalPromptTokens
            m.prefilledTokens += r.prefilled
            m.generatedTokens += r.generated
            m.cacheTokens += r.cacheTokens
            m.prefillSeconds += r.prefillSeconds
            m.decodeSeconds += r.decodeSeconds
            m.finalLogprobs.append(r.finalLogprobs)
        }
        m.cacheBytes = runtime.distinctCacheBytes(tenant: tenant, ids: ids)
        (m.output, m.versions) = script.output(lastAnswers: results.map { $0.answers.last ?? "" })
        return m
    }

    struct ThreadStart: Sendable { var cached: [Int32] }

    struct ThreadOutcome: Sendable {
        var answers: [String] = []
        var finalPromptTokens = 0
        var prefilled = 0
        var generated = 0
        var cacheTokens = 0
        var prefillSeconds = 0.0
        var decodeSeconds = 0.0
        var finalLogprobs: [[Float]] = []
    }

    /// One thread's turns: prompt = the cache's tokens + the conversation's unseen tokens; after
    /// each answer but the last, the answer goes into the cache and the cache is compressed.
    private func runThread(_ thread: CellScript.Thread, index: Int, transcript start: Transcript, start threadStart: ThreadStart,
                           tenant: String, key: CellKey, policy: PolicyChoice) async throws -> ThreadOutcome {
        var transcript = start
        let id = Self.agentID(thread: index)
        var cached = threadStart.cached
        var seen = cached.count
        var out = ThreadOutcome()
        for (turn, message) in thread.userMessages.enumerated() {
            if turn > 0 { _ = try transcript.addUser(message) }
            let last = turn == thread.userMessages.count - 1
            let turnStart = cached.count
            let prompt = cached + transcript.tokens[seen...]
            let (summary, logprobs) = try await generateLogged(tenant: tenant, id: id, prompt: prompt,
                                                               maxTokens: last ? maxTokens : turnMaxTokens,
                                                               seed: requestSeed(key: key, thread: index, turn: turn),
                                                               logprobs: last ? finalLogprobs : 0)
            if last { out.finalLogprobs = logprobs }
            out.answers.append(summary.text)
            out.prefilled += summary.prefilledTokens
            out.generated += summary.decodeTokens
            out.prefillSeconds += summary.promptSeconds
            out.decodeSeconds += summary.decodeSeconds
            if last {
                out.finalPromptTokens = transcript.tokens.count
                out.cacheTokens = runtime.tokens(tenant: tenant, id: id)?.count ?? 0
                break
            }
            _ = try transcript.addAssistant(summary.text)
            // Bring the cache up to the whole turn (answer and end-of-turn marker) so the policy
            // judges it with the rest, then compress.
            let full = cached + transcript.tokens[seen...]
            let filled = try await generate(tenant: tenant, id: id, prompt: full, maxTokens: 1, seed: 0)
            out.prefilled += filled.prefilledTokens
            out.prefillSeconds += filled.promptSeconds
            cached = full
            seen = transcript.tokens.count
            if !policy.isNone {
                let kept = try runtime.compress(tenant: tenant, id: id, with: policy.policy(lastTurnStart: turnStart),
                                                budget: policy.budget(conversationTokens: transcript.tokens.count))
                cached = kept.map { cached[$0] }
            }
        }
        return out
    }

    /// The longest common token prefix of the threads' first prompts, leaving each at least one
    /// token of its own (nil when there is nothing to share).
    func sharedPrefix(_ prompts: [[Int32]]) -> [Int32]? {
        guard prompts.count > 1, var n = prompts.map(\.count).min() else { return nil }
        n -= 1
        var common = 0
        while common < n && prompts.allSatisfy({ $0[common] == prompts[0][common] }) { common += 1 }
        return common > 0 ? Array(prompts[0].prefix(common)) : nil
    }

    func requestSeed(key: CellKey, thread: Int, turn: Int) -> UInt64 {
        UInt64(bitPattern: Int64(sampling.seed)) &+ stableHash("\(key.recordID)|\(key.seed)|\(thread)|\(turn)")
    }

    private func generate(tenant: String, id: String, prompt: [Int32], maxTokens: Int, seed: UInt64) async throws -> GenerationSummary {
        try await generateLogged(tenant: tenant, id: id, prompt: prompt, maxTokens: maxTokens, seed: seed, logprobs: 0).0
    }

    /// A request's summary and, when `logprobs` > 0, each token's top log-probabilities.
    private func generateLogged(tenant: String, id: String, prompt: [Int32], maxTokens: Int, seed: UInt64,
                                logprobs: Int) async throws -> (GenerationSummary, [[Float]]) {
        var params = SamplingParameters(temperature: Float(sampling.temperature), topK: sampling.topK,
                                        topP: Float(sampling.topP), repetitionPenalty: Float(sampling.repetitionPenalty), seed: seed)
        if sampling.temperature <= 0 { params.temperature = 0 }
        var options = GenerationOptions(maxTokens: maxTokens, sampling: params, logprobs: logprobs)
        options.stopAtEndOfGeneration = true
        let request = AgentRequest(tenant: tenant, agent: id, prompt: prompt, options: options)
        var rows: [[Float]] = []
        for try await event in try runtime.submit(request) {
            switch event {
            case .token(let token): if logprobs > 0, token.id >= 0 { rows.append(token.topLogprobs.map(\.logprob)) }
            case .finished(let summary): return (summary, rows)
            }
        }
        throw CancellationError()
    }
}

extension CellMeasurement {
    /// Adds a prefill-only request (a shared prefix) to the counts.
    mutating func count(prefill summary: GenerationSummary) {
        prefilledTokens += summary.prefilledTokens
        prefillSeconds += summary.promptSeconds
    }
}
