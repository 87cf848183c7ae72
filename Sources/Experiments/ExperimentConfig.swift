import Foundation
import TOMLKit

/// What an experiment runs, as `exp.toml` says it: the grid of cells (records x conditions x
/// policies x keep ratios x seeds), the model, sampling, lengths and scorers.
public struct ExperimentConfig: Sendable, Equatable {
    /// Bundled dataset names (`conflicts`, `multiturn`) or paths to JSON / JSONL files.
    public var datasets: [String]
    /// Use only the first `records` records of each dataset (nil: all).
    public var records: Int?
    /// A local model (installed name or GGUF path) for every condition, or any provider alias
    /// (`openai:NAME`, `claude-haiku-4.5`, ...) for the text-level conditions only.
    public var model: String
    public var conditions: [Condition]
    /// Policy names as `KVPolicies.named` spells them, plus `protect_last_turn:<policy>`.
    public var policies: [String]
    /// Keep ratios for every policy but `none` (which runs once, at 1).
    public var keepRatios: [Double]
    public var seeds: [Int]
    /// A system prompt every conversation starts with (nil: the chat template's default).
    public var system: String?
    public var sampling: Sampling
    /// Tokens of the answer to the final query (per version in the cache-per-cluster conditions).
    public var maxTokens: Int
    /// Tokens of each answer to an instruction turn.
    public var turnMaxTokens: Int
    public var scorers: Scorers
    /// Cells run at once (the agents runtime batches their forward passes).
    public var parallel: Int
    /// Tokens per agent cache.
    public var contextLength: Int
    /// A JSON file of cluster assignments by record id (e.g. a reasoning model's clustering);
    /// records it does not list use the dataset's ground truth.
    public var clusters: String?

    public struct Sampling: Sendable, Equatable {
        public var temperature: Double = 0
        /// Base seed of the samplers; each request's seed mixes in the cell's seed and turn.
        public var seed: Int = 0
        public var topK: Int = 40
        public var topP: Double = 0.95
        /// Divides the logits of recently seen tokens (1: off); small models loop without it.
        public var repetitionPenalty: Double = 1
        public init() {}
    }

    public struct Scorers: Sendable, Equatable {
        /// IFEval's verifiable checkers on the constraints the record's turns carry.
        public var ifeval = true
        /// Rule scores of each version against its pole of the conflict.
        public var rules = true
        /// A provider alias whose model judges each version (nil: no judge).
        public var judge: String?
        public init() {}
    }

    public init(datasets: [String], records: Int? = nil, model: String, conditions: [Condition] = Condition.allCases,
                policies: [String] = ["none"], keepRatios: [Double] = [], seeds: [Int] = [0], system: String? = nil,
                sampling: Sampling = Sampling(), maxTokens: Int = 128, turnMaxTokens: Int = 64, scorers: Scorers = Scorers(),
                parallel: Int = 4, contextLength: Int = 2048) {
        self.datasets = datasets
        self.records = records
        self.model = model
        self.conditions = conditions
        self.policies = policies
        self.keepRatios = keepRatios
        self.seeds = seeds
        self.system = system
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.turnMaxTokens = turnMaxTokens
        self.scorers = scorers
        self.parallel = parallel
        self.contextLength = contextLength
    }

    /// What a cell's result depends on besides its key: a database holds cells of one setting
    /// only (the grid may grow; changing these needs a new database).
    public var settings: String {
        let s = sampling
        return ["model=\(model)", "system=\(system ?? "")", "temperature=\(s.temperature)", "seed=\(s.seed)",
                "top_k=\(s.topK)", "top_p=\(s.topP)", "repetition_penalty=\(s.repetitionPenalty)",
                "max_tokens=\(maxTokens)", "turn_max_tokens=\(turnMaxTokens)", "ifeval=\(scorers.ifeval)",
                "rules=\(scorers.rules)", "judge=\(scorers.judge ?? "")", "clusters=\(clusters ?? "")"]
            .joined(separator: "; ")
    }

    /// Every (policy, keep ratio) pair a record and condition run under: `none` once at 1, every
    /// other policy at each keep ratio.
    public var compressionSettings: [(policy: String, keepRatio: Double)] {
        policies.flatMap { p in p == "none" ? [(p, 1.0)] : keepRatios.map { (p, $0) } }
    }
}

/// Why a config file could not be used.
public struct ExperimentConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ExperimentConfig {
    /// Reads and checks `exp.toml`: unknown keys, unknown conditions or policies and ratios
    /// outside (0, 1] are errors that name the culprit.
    public static func load(path: String) throws -> ExperimentConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ExperimentConfigError("cannot read the experiment config \(path)")
        }
        return try parse(text, name: path)
    }

    public static func parse(_ text: String, name: String = "config") throws -> ExperimentConfig {
        let file: ConfigFile
        do {
            file = try TOMLDecoder(strictDecoding: true).decode(ConfigFile.self, from: text)
        } catch let error as TOMLParseError {
            throw ExperimentConfigError("\(name): \(error.description) (\(error.source))")
        } catch let error as UnexpectedKeysError {
            throw ExperimentConfigError("\(name): unknown keys: \(error.keys.keys.sorted().joined(separator: ", "))")
        } catch let error as DecodingError {
            throw ExperimentConfigError("\(name): \(describe(error))")
        }
        return try file.config(name: name)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let context): return "missing key '\(path(context.codingPath + [key]))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "bad value at '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// The file's layout: `[experiment]`, `[sampling]`, `[generation]`, `[scorers]`.
private struct ConfigFile: Decodable {
    struct Experiment: Decodable {
        var datasets: [String]
        var records: Int?
        var model: String
        var conditions: [String]?
        var policies: [String]?
        var keep_ratios: [Number]?
        var seeds: [Int]?
        var system: String?
        var parallel: Int?
        var context: Int?
        var clusters: String?
    }
    struct Sampling: Decodable {
        var temperature: Number?
        var seed: Int?
        var top_k: Int?
        var top_p: Number?
        var repetition_penalty: Number?
    }
    struct Generation: Decodable {
        var max_tokens: Int?
        var turn_max_tokens: Int?
    }
    struct Scorers: Decodable {
        var ifeval: Bool?
        var rules: Bool?
        var judge: String?
    }
    var experiment: Experiment
    var sampling: Sampling?
    var generation: Generation?
    var scorers: Scorers?

    func config(name: String) throws -> ExperimentConfig {
        let e = experiment
        var conditions: [Condition] = []
        for c in e.conditions ?? Condition.allCases.map(\.rawValue) {
            guard let condition = Condition(rawValue: c) else {
                throw ExperimentConfigError("\(name): unknown condition '\(c)' (known: \(Condition.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            conditions.append(condition)
        }
        let policies = e.policies ?? ["none"]
        for p in policies {
            do { _ = try PolicyChoice(name: p, keepRatio: 1, seed: 0) } catch {
                throw ExperimentConfigError("\(name): \(error)")
            }
        }
        let ratios = (e.keep_ratios ?? []).map(\.value)
        if let bad = ratios.first(where: { !($0 > 0 && $0 <= 1) }) {
            throw ExperimentConfigError("\(name): keep ratio \(bad) is outside (0, 1]")
        }
        if policies.contains(where: { $0 != "none" }) && ratios.isEmpty {
            throw ExperimentConfigError("\(name): policies other than none need keep_ratios")
        }
        guard !e.datasets.isEmpty else { throw ExperimentConfigError("\(name): datasets is empty") }
        var config = ExperimentConfig(datasets: e.datasets, records: e.records, model: e.model, conditions: conditions,
                                      policies: policies, keepRatios: ratios, seeds: e.seeds ?? [0], system: e.system)
        if let p = e.parallel { config.parallel = max(1, p) }
        if let c = e.context { config.contextLength = c }
        config.clusters = e.clusters
        if let s = sampling {
            if let t = s.temperature { config.sampling.temperature = t.value }
            if let seed = s.seed { config.sampling.seed = seed }
            if let k = s.top_k { config.sampling.topK = k }
            if let p = s.top_p { config.sampling.topP = p.value }
            if let r = s.repetition_penalty { config.sampling.repetitionPenalty = r.value }
        }
        if let g = generation {
            if let m = g.max_tokens { config.maxTokens = m }
            if let m = g.turn_max_tokens { config.turnMaxTokens = m }
        }
        if let s = scorers {
            if let v = s.ifeval { config.scorers.ifeval = v }
            if let v = s.rules { config.scorers.rules = v }
            config.scorers.judge = s.judge
        }
        return config
    }
}

/// A TOML number written either way (`0` or `0.0`).
private struct Number: Decodable {
    var value: Double
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) { value = d } else { value = Double(try c.decode(Int.self)) }
    }
}
