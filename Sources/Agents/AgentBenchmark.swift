import Engine
import Foundation
import KVCache

/// Measurements of the agents layer, each a ratio against a baseline taken in the same run
/// (`rdic bench-agents` prints them).
public struct AgentBenchmark: Sendable {
    public let engine: Engine
    /// Text the synthetic agent histories are cut from.
    public let corpus: [Int32]

    public init(engine: Engine, corpusText: String = AgentBenchmark.defaultCorpus) {
        self.engine = engine
        var tokens = engine.tokenizer.encode(corpusText, addBOS: false, parseSpecial: false)
        if tokens.isEmpty { tokens = [1] }
        corpus = tokens
    }

    /// `count` tokens of history, starting at `offset` in the corpus (wrapping around).
    public func history(_ count: Int, offset: Int = 0) -> [Int32] {
        (0..<count).map { corpus[(offset + $0) % corpus.count] }
    }

    // MARK: Throughput

    public struct Throughput: Sendable, Codable {
        public var agents: Int
        public var tokensPerAgent: Int
        public var seconds: Double
        public var tokensPerSecond: Double { Double(agents * tokensPerAgent) / seconds }
    }

    /// Aggregate decode speed of `agents` agents generating `tokens` tokens each at once, their
    /// prompts already cached (a warm-up request per agent first, untimed).
    public func throughput(agents: Int, tokens: Int, promptTokens: Int = 32) async throws -> Throughput {
        var config = AgentRuntimeConfiguration()
        config.parallel = agents
        config.contextLength = promptTokens + tokens + 8
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        defer { Task { await runtime.shutdown() } }
        let prompts = (0..<agents).map { history(promptTokens, offset: 97 * $0) }
        try await runAll(runtime, prompts, tokens: 1)
        let start = Date()
        try await runAll(runtime, prompts, tokens: tokens)
        return Throughput(agents: agents, tokensPerAgent: tokens, seconds: Date().timeIntervalSince(start))
    }

    private func runAll(_ runtime: AgentRuntime, _ prompts: [[Int32]], tokens: Int) async throws {
        let options = Self.greedy(tokens)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, p) in prompts.enumerated() {
                group.addTask {
                    let s = try await runtime.generate(AgentRequest(tenant: "bench", agent: "agent-\(i)", prompt: p, options: options))
                    precondition(s.outputIds.count == tokens)
                }
            }
            try await group.waitForAll()
        }
    }

    // MARK: Warm agents

    public struct WarmStart: Sendable, Codable {
        public var historyTokens: Int
        public var newTokens: Int
        /// Time to first token re-prefilling the whole history (a fresh agent).
        public var coldSeconds: Double
        /// The agent's cache in RAM: only the new message is prefilled.
        public var ramSeconds: Double
        /// The agent restored from the disk tier, then the new message prefilled.
        public var diskSeconds: Double
        public var ramSpeedup: Double { coldSeconds / ramSeconds }
        public var diskSpeedup: Double { coldSeconds / diskSeconds }
    }

    /// An agent with a `history`-token conversation sends `newTokens` more: time to first token
    /// from RAM, from disk and cold, each with the same new suffix. Best of `repetitions`.
    public func warmStart(history count: Int, newTokens: Int, directory: URL, repetitions: Int = 3) async throws -> WarmStart {
        var config = AgentRuntimeConfiguration()
        config.contextLength = count + newTokens + 16
        config.directory = directory
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        defer { Task { await runtime.shutdown() } }
        let past = history(count)
        var result = WarmStart(historyTokens: count, newTokens: newTokens, coldSeconds: .infinity,
                               ramSeconds: .infinity, diskSeconds: .infinity)
        for r in 0..<repetitions {
            let prompt = past + history(newTokens, offset: count + 131 * (r + 1))
            for (agent, tier) in [("ram-\(r)", AgentTier.ram), ("disk-\(r)", .disk)] {
                _ = try await firstToken(runtime, agent: agent, past)
                if tier == .disk { try runtime.offload(tenant: "bench", id: agent) }
                let t = try await firstToken(runtime, agent: agent, prompt)
                if tier == .ram { result.ramSeconds = min(result.ramSeconds, t) } else { result.diskSeconds = min(result.diskSeconds, t) }
            }
            // Cold: the same prompt under another tenant, so nothing is shared.
            result.coldSeconds = min(result.coldSeconds, try await firstToken(runtime, tenant: "cold-\(r)", agent: "cold", prompt))
        }
        return result
    }

    /// Seconds from submitting `prompt` to its first streamed token.
    private func firstToken(_ runtime: AgentRuntime, tenant: String = "bench", agent: String, _ prompt: [Int32]) async throws -> Double {
        let options = Self.greedy(1)
        let start = Date()
        for try await event in try runtime.submit(AgentRequest(tenant: tenant, agent: agent, prompt: prompt, options: options)) {
            if case .token = event { return Date().timeIntervalSince(start) }
        }
        throw CancellationError()
    }

    // MARK: Budget

    public struct BudgetRun: Sendable, Codable {
        public var agents: Int
        public var turns: Int
        public var budgetBytes: Int
        /// Resident memory with the model loaded and the runtime idle, before any agent.
        public var baselineRSS: Int
        /// The most resident memory seen after any request.
        public var peakRSS: Int
        /// The most KV bytes the runtime held in RAM after any request.
        public var peakCacheBytes: Int
        public var evictions: Int
        public var restores: Int
        /// Every agent's outputs equal those of the same agent on a runtime with no budget.
        public var outputsMatch: Bool
    }

    /// `agents` agents taking `turns` turns each under a RAM budget of `budgetAgents` agents'
    /// caches (their final size); resident memory is sampled after every request.
    public func budget(agents: Int, turns: Int, historyTokens: Int, budgetAgents: Int, directory: URL) async throws -> BudgetRun {
        let shape = engine.model.cacheConfiguration(contextLength: historyTokens * 2)
        let perAgent = shape.bytesNeeded(tokens: historyTokens + turns * 24, batch: 0)
        var config = AgentRuntimeConfiguration()
        config.contextLength = historyTokens + turns * 32 + 64
        config.parallel = 1
        config.directory = directory
        config.ramBudget = budgetAgents * perAgent
        let options = Self.greedy(8)

        func conversation(_ runtime: AgentRuntime, sample: ((AgentRuntime) -> Void)? = nil) async throws -> [[Int32]] {
            var prompts = (0..<agents).map { history(historyTokens, offset: 211 * $0) }
            var outputs = [[Int32]](repeating: [], count: agents)
            for turn in 0..<turns {
                for a in 0..<agents {
                    let s = try await runtime.generate(AgentRequest(tenant: "bench", agent: "a\(a)", prompt: prompts[a], options: options))
                    outputs[a] += s.outputIds
                    prompts[a] += s.outputIds + history(16, offset: 7 * turn + a)
                    sample?(runtime)
                }
            }
            return outputs
        }
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        let baseline = residentBytes()
        var peak = baseline, peakCache = 0
        let outputs = try await conversation(runtime) { r in
            peak = max(peak, residentBytes())
            peakCache = max(peakCache, r.metrics.ramBytes)
        }
        let m = runtime.metrics
        await runtime.shutdown()
        var free = config
        free.ramBudget = nil
        free.directory = nil
        let unlimited = try AgentRuntime(engine: engine, configuration: free)
        let reference = try await conversation(unlimited)
        await unlimited.shutdown()
        return BudgetRun(agents: agents, turns: turns, budgetBytes: config.ramBudget!, baselineRSS: baseline, peakRSS: peak,
                         peakCacheBytes: peakCache, evictions: m.evictions, restores: m.restores,
                         outputsMatch: outputs == reference)
    }

    /// Exactly `tokens` greedy tokens (no early stop), so every run does the same work.
    static func greedy(_ tokens: Int) -> GenerationOptions {
        var options = GenerationOptions(maxTokens: tokens, sampling: .greedy)
        options.stopAtEndOfGeneration = false
        return options
    }

    public static let defaultCorpus = """
        The history of computing is a history of memory. Early machines held a few words in \
        mercury delay lines and rotating drums; programmers arranged instructions so that the \
        next one would arrive under the read head just in time. Later, magnetic cores made every \
        word equally quick to reach, and the cost of memory, not of arithmetic, set what a \
        program could do. Caches came next: small, fast stores that keep what was used recently \
        in the hope that it will be used again. A language model's key-value cache follows the \
        same idea. Each token it has read leaves behind a key and a value in every layer, and \
        each new token attends to all of them; keeping them means the model never reads its \
        history twice. Agents that talk for hours build long histories, and a machine that \
        serves many agents must decide whose memories stay close at hand and whose are written \
        away to disk until they are needed again.
        """
}

/// Resident set size of this process (`VmRSS`), 0 where /proc is missing.
public func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let parts = line.split(separator: " ")
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return 0
}
