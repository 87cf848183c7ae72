import Agents
import AtomicWrites
import ArgumentParser
import Datasets
import Engine
import Experiments
import Foundation
import ModelStore
import Providers
import Reports
import Scoring

/// `rdic experiment`: the RDIC experiment (conditions x KV policies over a conflict dataset).
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run the RDIC experiment from a TOML config into SQLite, follow its progress, report on it.",
        subcommands: [ExperimentRunCommand.self, ExperimentStatusCommand.self, ExperimentReportCommand.self, ExperimentClusterCommand.self])
}

struct ExperimentReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.md, a self-contained report.html with SVG plots, and CSV tables from a results database.")

    @Option(name: .long, help: "The results database of `rdic experiment run`.")
    var db: String

    @Option(name: .shortAndLong, help: "The output directory (created if missing).")
    var output = "report"

    @Option(name: .long, help: "The experiment config to show in the report (default: the settings the run recorded).")
    var config: String?

    @Option(name: .long, help: "Compare every condition with this one only (default: every pair of conditions).")
    var baseline: String?

    func run() throws {
        guard FileManager.default.fileExists(atPath: db) else { fail("no results database at \(db)") }
        do {
            let text = try config.map { try String(contentsOfFile: $0, encoding: .utf8) }
            let report = try ExperimentStore(path: db).report(config: text, options: ReportOptions(baseline: baseline))
            try report.write(to: URL(fileURLWithPath: output))
            print("report written to \(output)/report.html and \(output)/report.md (\(report.analysis.cells.count) cells)")
        } catch {
            fail("\(error)")
        }
    }
}

struct ExperimentRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every cell of an experiment not yet in the database (a re-run resumes).",
        discussion: "See examples/experiment-smollm2.toml for the config's keys.")

    @Argument(help: "The experiment config (TOML).")
    var config: String

    @Option(name: .long, help: "The results database (SQLite; created if missing).")
    var db: String

    @Flag(name: .long, help: "Run again the cells that failed in an earlier run.")
    var retryErrors = false

    @Option(name: .long, help: "Provider config file for judge and remote models (default: ~/.config/rdic/config.toml).")
    var providers: String?

    func run() async throws {
        let config: ExperimentConfig
        let store: ExperimentStore
        do {
            config = try ExperimentConfig.load(path: self.config)
            store = try ExperimentStore(path: db)
            if retryErrors { try store.removeFailed() }
        } catch {
            fail("\(error)")
        }
        let factory = ProviderFactory(config: try ProviderConfig.load(path: providers), local: localProviderMaker,
                                      localModels: localModels())
        let backend = try await makeBackend(config, factory: factory)
        let runner: ExperimentRunner
        do {
            var judge: LLMJudge?
            if let name = config.scorers.judge {
                let cache = JudgeCache(directory: URL(fileURLWithPath: NSHomeDirectory() + "/.cache/rdic/judge"))
                judge = try LLMJudge.make(factory: factory, model: name, cache: cache)
            }
            let assignments = try config.clusters.map { try ClusterAssignment.load(path: $0) } ?? [:]
            runner = try ExperimentRunner(config: config, backend: backend, store: store,
                                          scorer: CellScorer(ifeval: config.scorers.ifeval, rules: config.scorers.rules, judge: judge),
                                          assignments: assignments)
        } catch {
            fail("\(error)")
        }
        let bar = ExperimentProgressBar()
        let final = try await runner.run(progress: bar.update)
        bar.finish()
        if case .local(let runtime) = backend { await runtime.shutdown() }
        await factory.shutdown()
        print("\(final.done) cells run (\(final.skipped) already done, \(final.errors) failed) of \(final.total) in "
              + "\(ExperimentProgressBar.duration(final.elapsed)); results in \(db)")
    }

    /// A local model (path or installed name; built-in names are installed on first use) runs on
    /// the agents runtime; anything else is a provider alias.
    private func makeBackend(_ config: ExperimentConfig, factory: ProviderFactory) async throws -> ExperimentBackend {
        let store = ModelStore.fromEnvironment()
        var local: InstalledModel?
        do {
            local = try store.resolve(config.model)
        } catch ModelStoreError.notInstalled {
            local = try await ModelResolution.resolve(config.model, store: store)
        } catch {
            local = nil
        }
        if let local {
            let engine = try Engine(path: local.path, contextLength: config.contextLength)
            var runtimeConfig = AgentRuntimeConfiguration()
            runtimeConfig.contextLength = config.contextLength
            runtimeConfig.parallel = config.parallel
            runtimeConfig.queueLimit = max(64, config.parallel * 16)
            return .local(try AgentRuntime(engine: engine, configuration: runtimeConfig))
        }
        do {
            return .provider(try factory.provider(named: config.model))
        } catch {
            fail("model '\(config.model)' is neither a local model nor a usable provider alias: \(error)")
        }
    }
}

struct ExperimentStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Cells done per condition, failures and scorer errors of an experiment database.")

    @Option(name: .long, help: "The results database.")
    var db: String

    func run() async throws {
        guard FileManager.default.fileExists(atPath: db) else { fail("no results database at \(db)") }
        let store = try ExperimentStore(path: db)
        let rows = try store.status()
        let width = max(9, rows.map(\.condition.count).max() ?? 0)
        func pad(_ s: String) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
        print("\(pad("condition"))  done/total  errors  scorer errors")
        var planned = 0, done = 0, errors = 0, scorerErrors = 0
        for r in rows {
            print("\(pad(r.condition))  \("\(r.done)/\(r.planned)".padding(toLength: 10, withPad: " ", startingAt: 0))  "
                  + "\(String(r.errors).padding(toLength: 6, withPad: " ", startingAt: 0))  \(r.scorerErrors)")
            planned += r.planned; done += r.done; errors += r.errors; scorerErrors += r.scorerErrors
        }
        print("\(pad("total"))  \("\(done)/\(planned)".padding(toLength: 10, withPad: " ", startingAt: 0))  "
              + "\(String(errors).padding(toLength: 6, withPad: " ", startingAt: 0))  \(scorerErrors)")
        let messages = try store.errorSummary()
        if !messages.isEmpty {
            print("\nerrors:")
            for (message, count) in messages { print("  \(count) x \(message)") }
        }
    }
}

/// The run's progress on standard error: a redrawn bar with ETA on a terminal, a line per
/// tenth of the cells otherwise.
final class ExperimentProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastTenth = -1
    private var drawn = false

    var update: @Sendable (ExperimentProgress) -> Void { { [self] p in draw(p) } }

    private func draw(_ p: ExperimentProgress) {
        lock.withLock {
            let todo = p.total - p.skipped
            let fraction = todo == 0 ? 1 : Double(p.done) / Double(todo)
            let eta = p.eta.map { "ETA \(Self.duration($0))" } ?? "ETA --"
            let line = "\(p.done + p.skipped)/\(p.total) cells (\(p.skipped) skipped, \(p.errors) failed)  "
                + "\(Self.duration(p.elapsed)) elapsed  \(eta)"
            if isTerminal {
                let width = 30, filled = Int(fraction * Double(width))
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                write("\r\(bar) \(line)\u{1B}[K")
                drawn = true
            } else if Int(fraction * 10) > lastTenth {
                lastTenth = Int(fraction * 10)
                write(line + "\n")
            }
        }
    }

    func finish() { lock.withLock { if drawn { write("\n") } } }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

/// Reports a user error on standard error and exits with status 2 (no usage text: the input was
/// understood, it is just wrong).
private func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(2)
}

struct ExperimentClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Cluster a dataset's instructions with a reasoning model, k times: stability between runs (ARI, NMI) and agreement with the ground truth.",
        discussion: "Writes the first run's assignments to --output, ready for an experiment config's `clusters = \"FILE\"`.")

    @Option(name: .long, help: "Provider alias of the reasoning model (rdic check lists them).")
    var model = "deepseek-r1"

    @Option(name: .long, help: "Datasets: bundled names (conflicts, multiturn) or paths; repeat for several.")
    var dataset: [String] = ["conflicts"]

    @Option(name: .long, help: "Clustering runs (k).")
    var runs = 3

    @Option(name: .long, help: "Output tokens per answer (reasoning models think first).")
    var maxTokens = 8192

    @Option(name: .shortAndLong, help: "Where to write the first run's assignments (JSON).")
    var output: String

    @Option(name: .long, help: "Provider config file (default: ~/.config/rdic/config.toml).")
    var providers: String?

    func run() async throws {
        guard runs >= 1 else { fail("--runs must be at least 1") }
        let records: [ConflictRecord]
        let provider: any ChatProvider
        let factory = ProviderFactory(config: try ProviderConfig.load(path: providers), local: localProviderMaker,
                                      localModels: localModels())
        do {
            records = try ExperimentRunner.loadRecords(ExperimentConfig(datasets: dataset, model: model)).map(\.record)
            provider = try factory.provider(named: model)
        } catch {
            fail("\(error)")
        }
        let clusterer = ReasoningClusterer(provider: provider, maxTokens: maxTokens)
        do {
            let study = try await clusterer.study(records, runs: runs)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(study.runs[0].assignments), to: URL(fileURLWithPath: output))
            print(study.summary)
            print("assignments of run 1 written to \(output)")
        } catch {
            await factory.shutdown()
            fail("\(error)")
        }
        await factory.shutdown()
    }
}
