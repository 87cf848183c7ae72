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

    /// Aggregate decode speed (tokens/s) of `agents` agents generating at once, one sample per
    /// round.
    public struct ThroughputSeries: Sendable, Codable {
        public var agents: Int
        public var tokensPerSecond: [Double]
        public var median: Double { Timings(tokensPerSecond).median }
    }

    /// One agent against each larger count, measured in alternation.
    public struct ThroughputComparison: Sendable, Codable {
        public var tokensPerAgent: Int
        /// One agent first, then each larger count.
        public var series: [ThroughputSeries]

        /// Median tokens/s of `agents` agents over the median of one agent.
        public func speedup(agents: Int) -> Double {
            guard let s = series.first(where: { $0.agents == agents }) else { return .nan }
            return s.median / series[0].median
        }

        /// The speed-up within each round (against that round's one agent), smallest and largest.
        public func roundSpeedups(agents: Int) -> ClosedRange<Double>? {
            guard let s = series.first(where: { $0.agents == agents }), !s.tokensPerSecond.isEmpty else { return nil }
            let ratios = zip(s.tokensPerSecond, series[0].tokensPerSecond).map { $0 / $1 }
            return ratios.min()! ... ratios.max()!
        }
    }

    /// Aggregate decode speed of one agent and of each count in `agentCounts` generating
    /// `tokens` tokens each at once, their prompts already cached (a warm-up request per agent
    /// first, untimed). Every round measures each count once, one after another: a run of a
    /// second is at the mercy of a shared machine's speed, which drifts by tens of percent
    /// within minutes, so the counts take turns and each ratio is one of medians.
    public func throughput(agentCounts: [Int], tokens: Int, rounds: Int = 5,
                           promptTokens: Int = 32) async throws -> ThroughputComparison {
        guard tokens > 0 && rounds > 0 else { throw AgentBenchmarkError.invalidSetup("tokens and rounds must be at least 1") }
        let counts = [1] + agentCounts.filter { $0 > 1 }
        var runtimes: [AgentRuntime] = []
        defer { for runtime in runtimes { Task { await runtime.shutdown() } } }
        var prompts: [[[Int32]]] = []
        for n in counts {
            var config = AgentRuntimeConfiguration()
            config.parallel = n
            config.contextLength = promptTokens + tokens + 8
            let runtime = try AgentRuntime(engine: engine, configuration: config)
            runtimes.append(runtime)
            prompts.append((0..<n).map { history(promptTokens, offset: 97 * $0) })
        }
        for (runtime, p) in zip(runtimes, prompts) { try await runAll(runtime, p, tokens: 1) }
        var series = counts.map { ThroughputSeries(agents: $0, tokensPerSecond: []) }
        for _ in 0..<rounds {
            for (i, n) in counts.enumerated() {
                let start = Date()
                try await runAll(runtimes[i], prompts[i], tokens: tokens)
                series[i].tokensPerSecond.append(Double(n * tokens) / Date().timeIntervalSince(start))
            }
        }
        return ThroughputComparison(tokensPerAgent: tokens, series: series)
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

    /// Repeated measurements of one quantity (seconds): a single figure of a tenth of a second
    /// on a shared machine is mostly noise, so each ratio is taken between medians.
    public struct Timings: Sendable, Codable {
        public var samples: [Double]
        public var median: Double
        public var min: Double
        public var max: Double

        public init(_ samples: [Double]) {
            precondition(!samples.isEmpty)
            let sorted = samples.sorted()
            let mid = sorted.count / 2
            self.samples = samples
            median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
            min = sorted[0]
            max = sorted[sorted.count - 1]
        }

        /// Range of the samples relative to their median.
        public var spread: Double { (max - min) / median }
    }

    public struct WarmStart: Sendable, Codable {
        public var historyTokens: Int
        public var newTokens: Int
        /// Time to first token re-prefilling the whole history (nothing cached).
        public var cold: Timings
        /// The agent's cache in RAM: only the new message is prefilled.
        public var ram: Timings
        /// The agent restored from the disk tier, then the new message prefilled.
        public var disk: Timings
        public var ramSpeedup: Double { cold.median / ram.median }
        public var diskSpeedup: Double { cold.median / disk.median }
    }

    /// An agent with a `count`-token history sends `newTokens` more: time to first token from
    /// RAM, from the disk tier and cold (the whole prompt prefilled with nothing cached), each
    /// with a new suffix of the same length. The history is prefilled once; every warm request
    /// starts from that same state, a copy-on-write fork of the agent (the disk ones written to
    /// the tier first), so no repetition inherits another's tokens. Cold runs are spread among
    /// the warm ones, so a change of load on a shared machine reaches both.
    public func warmStart(history count: Int, newTokens: Int, directory: URL, repetitions: Int = 9,
                          coldRepetitions: Int = 3) async throws -> WarmStart {
        guard repetitions > 0 && coldRepetitions > 0 && newTokens > 0 else {
            throw AgentBenchmarkError.invalidSetup("repetitions, cold repetitions and new tokens must be at least 1")
        }
        var config = AgentRuntimeConfiguration()
        config.contextLength = count + newTokens + 16
        config.directory = directory
        // Nothing is written behind: a save of an idle agent would compete with a timed request.
        // The disk tier's files are written by `offload`, before the timing starts.
        config.writeDelay = 1e9
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        let past = history(count)
        _ = try await firstToken(runtime, agent: "history", past, reusing: 0)
        var cold: [Double] = [], ram: [Double] = [], disk: [Double] = []
        for r in 0..<repetitions {
            let prompt = past + newMessage(after: count, length: newTokens, repetition: r)
            if cold.count < coldRepetitions && r * coldRepetitions >= cold.count * repetitions {
                // Another tenant each time: nothing cached is shared.
                cold.append(try await firstToken(runtime, tenant: "cold-\(r)", agent: nil, prompt, reusing: 0))
            }
            try runtime.createAgent(tenant: "bench", id: "ram-\(r)", forkingFrom: "history")
            ram.append(try await firstToken(runtime, agent: "ram-\(r)", prompt, reusing: count))
            try runtime.deleteAgent(tenant: "bench", id: "ram-\(r)")
            try runtime.createAgent(tenant: "bench", id: "disk-\(r)", forkingFrom: "history")
            try runtime.offload(tenant: "bench", id: "disk-\(r)")
            guard runtime.agents(tenant: "bench").first(where: { $0.id == "disk-\(r)" })?.tier == .disk else {
                throw AgentBenchmarkError.notOnDisk(agent: "disk-\(r)")
            }
            disk.append(try await firstToken(runtime, agent: "disk-\(r)", prompt, reusing: count))
            try runtime.deleteAgent(tenant: "bench", id: "disk-\(r)")
        }
        while cold.count < coldRepetitions {
            cold.append(try await firstToken(runtime, tenant: "cold-extra-\(cold.count)", agent: nil,
                                             past + newMessage(after: count, length: newTokens, repetition: cold.count),
                                             reusing: 0))
        }
        try runtime.deleteAgent(tenant: "bench", id: "history")
        await runtime.shutdown()
        return WarmStart(historyTokens: count, newTokens: newTokens, cold: Timings(cold), ram: Timings(ram), disk: Timings(disk))
    }

    /// A new message of `length` corpus tokens for repetition `r`, starting with a token other
    /// than the one the corpus continues the history with (so no more of it is found cached).
    private func newMessage(after count: Int, length: Int, repetition r: Int) -> [Int32] {
        var offset = count + 131 * (r + 1)
        while corpus.count > 1 && corpus[offset % corpus.count] == corpus[count % corpus.count] { offset += 1 }
        return history(length, offset: offset)
    }

    /// Seconds from submitting `prompt` to its first streamed token; the request must find
    /// exactly `reusing` prompt tokens cached, or the measurement is not what it claims.
    private func firstToken(_ runtime: AgentRuntime, tenant: String = "bench", agent: String?, _ prompt: [Int32],
                            reusing expected: Int) async throws -> Double {
        let start = Date()
        var seconds: Double?
        for try await event in try runtime.submit(AgentRequest(tenant: tenant, agent: agent, prompt: prompt, options: Self.greedy(1))) {
            switch event {
            case .token: if seconds == nil { seconds = Date().timeIntervalSince(start) }
            case .finished(let summary):
                guard summary.reusedPromptTokens == expected, let seconds else {
                    throw AgentBenchmarkError.unexpectedReuse(expected: expected, found: summary.reusedPromptTokens)
                }
                return seconds
            }
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
        let baseline = ProcessMemory.resident
        var peak = baseline, peakCache = 0
        let outputs = try await conversation(runtime) { r in
            peak = max(peak, ProcessMemory.resident)
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

/// A benchmark found its setup other than it assumed.
public enum AgentBenchmarkError: Error, Sendable, CustomStringConvertible {
    case unexpectedReuse(expected: Int, found: Int)
    case notOnDisk(agent: String)
    case invalidSetup(String)

    public var description: String {
        switch self {
        case .unexpectedReuse(let expected, let found):
            "the timed request reused \(found) cached prompt tokens, expected \(expected)"
        case .notOnDisk(let agent): "agent '\(agent)' was not moved to the disk tier (no directory?)"
        case .invalidSetup(let reason): reason
        }
    }
}
