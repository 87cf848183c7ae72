import ArgumentParser
import Engine
import Foundation
import GGUF
import KVCache
import Models

/// `rdic bench`: tokens per second with llama-bench's definitions, so the two can be compared
/// line by line (`scripts/compare-llamacpp.sh` does that).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prefill and generation speed (llama-bench's tests and output fields).",
        discussion: """
            pp N: prefill N tokens from an empty cache (tokens/s); tg N: generate N tokens one at a \
            time (tokens/s); @ dN: after a context of N tokens, filled untimed. Each test runs once \
            untimed, then --repetitions times; the mean and standard deviation of tokens/s are \
            reported, with the process's peak resident memory. Lists take commas: -p 128,512.
            """)

    @Option(name: [.short, .long], help: "A model name (rdic model list) or a path to a .gguf file.")
    var model: String

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt lengths to prefill (0 skips).")
    var nPrompt: [String] = ["512"]

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Numbers of tokens to generate (0 skips).")
    var nGen: [String] = ["128"]

    @Option(name: [.customShort("d"), .customLong("n-depth")], help: "Context depths to run each test after.")
    var nDepth: [String] = ["0"]

    @Option(name: [.short, .long], help: "Timed repetitions of each test.")
    var repetitions = 5

    @Option(name: [.short, .long], help: "Threads (default: one per core).")
    var threads: Int?

    @Option(name: [.customShort("b"), .customLong("batch-size")], help: "Tokens per prefill batch.")
    var batchSize = 512

    @OptionGroup var kv: KVOptions

    @Option(help: "Kernels: fast or llama-cpp (see rdic generate --help).")
    var numerics: Numerics = .fast

    @Flag(help: "Print a JSON list of results with llama-bench's field names.")
    var json = false

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        _ = try Self.numbers(nPrompt, "-p")
        _ = try Self.numbers(nGen, "-n")
        _ = try Self.numbers(nDepth, "-d")
    }

    /// Parses comma-separated non-negative integers.
    static func numbers(_ values: [String], _ flag: String) throws -> [Int] {
        try values.flatMap { $0.split(separator: ",") }.map { s in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                throw ValidationError("\(flag) takes non-negative integers, got '\(s)'")
            }
            return v
        }
    }

    func run() throws {
        let path = try resolveModelPath(model)
        let file = try GGUFFile(path: path)
        let transformer = try Transformer(file: file, threads: threads, numerics: numerics)
        let kv = try self.kv.storage()
        try transformer.validate(kv)
        let runner = EngineBenchmark(model: transformer, batchSize: batchSize, kv: kv)
        let tests = BenchTest.matrix(prompts: try Self.numbers(nPrompt, "-p"), gens: try Self.numbers(nGen, "-n"),
                                     depths: try Self.numbers(nDepth, "-d"))
        let info = BenchModelInfo(file: file, path: path, batchSize: batchSize, kv: kv)
        if !json { print(BenchOutput.tableHeader) }
        var results: [BenchResult] = []
        for test in tests {
            let r = try runner.run(test, repetitions: repetitions)
            results.append(r)
            if !json { print(BenchOutput.tableRow(r, info)) }
        }
        if json {
            print(BenchOutput.json(results, info))
        } else {
            print("\npeak RSS: \(String(format: "%.1f", Double(ProcessMemory.peakResident) / 1_048_576)) MiB")
        }
    }
}

/// What the output says about the model and settings.
struct BenchModelInfo {
    let fileName: String
    let type: String
    let sizeBytes: Int
    let parameters: Int
    let batchSize: Int
    let kv: KVStorage

    init(file: GGUFFile, path: String, batchSize: Int, kv: KVStorage) {
        fileName = path
        let arch = file.metadata.string("general.architecture") ?? "?"
        let common = Dictionary(grouping: file.tensors.filter { $0.shape.count >= 2 }, by: \.type)
            .max { $0.value.count < $1.value.count }?.key.description ?? "?"
        type = "\(arch) \(common)"
        sizeBytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        parameters = file.tensors.reduce(0) { $0 + $1.elementCount }
        self.batchSize = batchSize
        self.kv = kv
    }
}

/// llama-bench's markdown table and JSON list.
enum BenchOutput {
    static let tableHeader = """
        | model | size | params | threads | test | t/s | peak RSS |
        | --- | ---: | ---: | ---: | ---: | ---: | ---: |
        """

    static func tableRow(_ r: BenchResult, _ m: BenchModelInfo) -> String {
        let size = String(format: "%.2f MiB", Double(m.sizeBytes) / 1_048_576)
        let params = String(format: "%.2f M", Double(m.parameters) / 1e6)
        let ts = String(format: "%.2f ± %.2f", r.avgTs, r.stddevTs)
        let rss = String(format: "%.1f MiB", Double(r.peakRSS) / 1_048_576)
        return "| \(m.type) | \(size) | \(params) | \(r.threads) | \(r.test.name) | \(ts) | \(rss) |"
    }

    /// A JSON array of objects with llama-bench's field names (plus `peak_rss_bytes`), keys in
    /// llama-bench's order.
    static func json(_ results: [BenchResult], _ m: BenchModelInfo) -> String {
        let time = ISO8601DateFormatter().string(from: Date())
        let objects = results.map { r -> String in
            let fields: [(String, String)] = [
                ("build_commit", quoted("rdic")),
                ("model_filename", quoted(m.fileName)),
                ("model_type", quoted(m.type)),
                ("model_size", "\(m.sizeBytes)"),
                ("model_n_params", "\(m.parameters)"),
                ("n_batch", "\(m.batchSize)"),
                ("n_ubatch", "\(m.batchSize)"),
                ("n_threads", "\(r.threads)"),
                ("type_k", quoted(m.kv.key.rawValue)),
                ("type_v", quoted(m.kv.value.rawValue)),
                ("n_prompt", "\(r.test.prompt)"),
                ("n_gen", "\(r.test.gen)"),
                ("n_depth", "\(r.test.depth)"),
                ("test_time", quoted(time)),
                ("avg_ns", "\(UInt64(r.avgNs.rounded()))"),
                ("stddev_ns", "\(UInt64(r.stddevNs.rounded()))"),
                ("avg_ts", number(r.avgTs)),
                ("stddev_ts", number(r.stddevTs)),
                ("samples_ns", "[ " + r.samplesNs.map(String.init).joined(separator: ", ") + " ]"),
                ("samples_ts", "[ " + r.samplesTs.map(number).joined(separator: ", ") + " ]"),
                ("peak_rss_bytes", "\(r.peakRSS)"),
            ]
            return "  {\n" + fields.map { "    \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n  }"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]"
    }

    static func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6f", x) : "0" }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
