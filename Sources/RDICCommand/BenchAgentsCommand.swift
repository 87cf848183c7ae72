import Agents
import ArgumentParser
import Engine
import Foundation

/// `rdic bench-agents`: what many agents on one model buy, as ratios measured in one run.
struct BenchAgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-agents",
        abstract: "Measure the agents runtime: batched decoding, warm agents, the RAM budget.",
        discussion: """
            throughput: aggregate decode tokens/s of 1 agent and of each --agents count at once \
            (prompts cached, --tokens per agent), the counts taking turns for --rounds rounds; \
            medians and each round's range of ratios. warm: an agent with a --history-token history \
            sends --new tokens; time to first token from RAM, from the disk tier and re-prefilled \
            cold (same new suffix length in all three), medians of --repetitions warm and \
            --cold-repetitions cold requests with their range. budget: --budget-agents agents' worth of RAM, \
            --budget-total agents taking turns: resident memory and correctness after spills.
            """)

    @Option(help: """
        A model name (rdic model list) or a path to a .gguf file; several comma-separated \
        (e.g. smollm2-135m,gemma3-270m) are measured one after another. Default: the default model.
        """)
    var model: String?

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(help: "Concurrent agent counts to measure against one agent (comma-separated).")
    var agents: String = "4"

    @Option(help: "Tokens each agent generates in the throughput test.")
    var tokens = 64

    @Option(help: "Rounds of the throughput test: each round runs one agent, then each --agents count; medians are reported.")
    var rounds = 5

    @Option(help: "History tokens of the warm-agent test.")
    var history = 4096

    @Option(help: "New tokens sent by the warm agent.")
    var new = 64

    @Option(help: "Warm requests from RAM and from disk in the warm test (each from the same agent state); medians are reported.")
    var repetitions = 9

    @Option(help: "Cold re-prefills of the whole history in the warm test (median reported).")
    var coldRepetitions = 3

    @Option(help: "Agents taking turns in the budget test (0 skips it).")
    var budgetTotal = 10

    @Option(help: "Agents' worth of RAM budget in the budget test.")
    var budgetAgents = 3

    @Option(help: "Tests to run (comma-separated): throughput, warm, budget.")
    var tests = "throughput,warm,budget"

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard repetitions > 0 else { throw ValidationError("--repetitions must be at least 1") }
        guard coldRepetitions > 0 else { throw ValidationError("--cold-repetitions must be at least 1") }
        guard rounds > 0 else { throw ValidationError("--rounds must be at least 1") }
        guard tokens > 0 else { throw ValidationError("--tokens must be at least 1") }
        guard history >= 0 else { throw ValidationError("--history must not be negative") }
        guard new > 0 else { throw ValidationError("--new must be at least 1") }
        guard budgetTotal >= 0 else { throw ValidationError("--budget-total must not be negative") }
        guard budgetAgents > 0 else { throw ValidationError("--budget-agents must be at least 1") }
        _ = try agentCounts()
        _ = try selectedTests()
    }

    static let testNames = ["throughput", "warm", "budget"]

    /// `--agents` as counts of two or more agents.
    private func agentCounts() throws -> [Int] {
        try agents.split(separator: ",").map { item in
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let n = Int(text), n >= 2 else {
                throw ValidationError("--agents takes counts of 2 or more, comma-separated (got '\(text)')")
            }
            return n
        }
    }

    /// `--tests` as a set of known test names.
    private func selectedTests() throws -> Set<String> {
        let names = tests.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let unknown = names.first(where: { !Self.testNames.contains($0) }) {
            throw ValidationError("unknown test '\(unknown)' (known: \(Self.testNames.joined(separator: ", ")))")
        }
        guard !names.isEmpty else { throw ValidationError("--tests names none of \(Self.testNames.joined(separator: ", "))") }
        return Set(names)
    }

    func run() async throws {
        let names: [String?] = model.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? [nil]
        var reports: [Report] = []
        for name in names {
            if names.count > 1 && !json { print("== \(name ?? "default model")") }
            reports.append(try await measure(name))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = reports.count == 1 ? try encoder.encode(reports[0]) : try encoder.encode(reports)
            print(String(decoding: data, as: UTF8.self))
        }
    }

    private func measure(_ model: String?) async throws -> Report {
        let path = try await ModelResolution.resolve(model).path
        let engine = try Engine(path: path, threads: threads, contextLength: history + new + 64)
        let bench = AgentBenchmark(engine: engine)
        let which = try selectedTests()
        var report = Report(model: path)
        let log: (String) -> Void = { line in if !json { print(line) } }

        if which.contains("throughput") {
            let t = try await bench.throughput(agentCounts: try agentCounts(), tokens: tokens, rounds: rounds)
            report.throughput = t
            log("throughput, \(tokens) tokens per agent, medians of \(rounds) rounds (each count in turn):")
            let one = t.series[0]
            log(String(format: "  1 agent : %7.1f tokens/s", one.median))
            for s in t.series.dropFirst() {
                let within = t.roundSpeedups(agents: s.agents)!
                log(String(format: "  %2d agents: %7.1f tokens/s  (%.2fx one agent; rounds %.2f-%.2fx)", s.agents, s.median,
                           t.speedup(agents: s.agents), within.lowerBound, within.upperBound))
            }
        }
        if which.contains("warm") {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-bench-agents-\(getpid())")
            defer { try? FileManager.default.removeItem(at: dir) }
            let w = try await bench.warmStart(history: history, newTokens: new, directory: dir, repetitions: repetitions,
                                              coldRepetitions: coldRepetitions)
            report.warm = w
            let range = { (t: AgentBenchmark.Timings) in String(format: "%.4f s (%.4f-%.4f)", t.median, t.min, t.max) }
            log("warm agent, \(w.historyTokens)-token history + \(w.newTokens) new, medians of \(w.ram.samples.count) warm, "
                + "\(w.cold.samples.count) cold (min-max):")
            log("  cold \(range(w.cold))")
            log("  RAM  \(range(w.ram))  \(String(format: "%.1fx", w.ramSpeedup))")
            log("  disk \(range(w.disk))  \(String(format: "%.1fx", w.diskSpeedup))")
        }
        if which.contains("budget") && budgetTotal > 0 {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-bench-budget-\(getpid())")
            defer { try? FileManager.default.removeItem(at: dir) }
            let b = try await bench.budget(agents: budgetTotal, turns: 3, historyTokens: 512, budgetAgents: budgetAgents, directory: dir)
            report.budget = b
            let mib = { (x: Int) in String(format: "%.1f MiB", Double(x) / 1_048_576) }
            log("budget: \(b.agents) agents x \(b.turns) turns, RAM budget \(mib(b.budgetBytes)) (\(budgetAgents) agents): "
                + "cache peak \(mib(b.peakCacheBytes)), RSS \(mib(b.baselineRSS)) idle -> \(mib(b.peakRSS)) peak "
                + "(+\(mib(b.peakRSS - b.baselineRSS))), \(b.evictions) spills, \(b.restores) restores, "
                + "outputs \(b.outputsMatch ? "equal to" : "DIFFERENT from") an unlimited run")
        }
        return report
    }

    struct Report: Codable {
        var model: String
        var throughput: AgentBenchmark.ThroughputComparison?
        var warm: AgentBenchmark.WarmStart?
        var budget: AgentBenchmark.BudgetRun?
    }
}
