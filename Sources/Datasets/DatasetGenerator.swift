import Foundation
import Providers

/// Settings of one generation run.
public struct GeneratorOptions: Sendable {
    public var count: Int
    public var seed: UInt64
    /// The alias the records are generated with (recorded in the run file; each record's
    /// `metadata.model` holds the model id the server reported).
    public var modelName: String
    public var output: URL
    public var resume: Bool
    public var temperature: Double
    public var maxTokens: Int
    /// Model calls per plan item before it is given up (and left for a later `--resume`).
    public var attempts: Int

    public init(count: Int, seed: UInt64, modelName: String, output: URL, resume: Bool = false,
                temperature: Double = 0.8, maxTokens: Int = 2048, attempts: Int = 2) {
        self.count = count
        self.seed = seed
        self.modelName = modelName
        self.output = output
        self.resume = resume
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.attempts = attempts
    }

    /// Records the run's parameters next to the output, so `--resume` continues the same plan.
    public var runFile: URL { URL(fileURLWithPath: output.path + ".run.json") }
    /// One JSON line per failed attempt: plan item, attempt, reason, and the start of the answer.
    public var failureLog: URL { URL(fileURLWithPath: output.path + ".failures.jsonl") }
}

/// What happened during a run, as it happens (for a progress display).
public enum GeneratorEvent: Sendable {
    case started(total: Int, alreadyDone: Int)
    case kept(PlanItem, done: Int, total: Int, failures: Int)
    case failed(PlanItem, attempt: Int, reason: String, failures: Int)
}

/// The outcome of a run.
public struct GeneratorSummary: Sendable, Equatable {
    public var planned: Int
    /// Records in the output file at the end (including those from an earlier run).
    public var kept: Int
    public var resumed: Int
    /// Failed attempts (each logged).
    public var failures: Int
    /// Plan items given up after every attempt failed.
    public var givenUp: [PlanItem]
}

/// Why a run could not start or had to stop.
public enum GeneratorError: Error, Sendable, Equatable, CustomStringConvertible {
    case outputExists(String)
    case runMismatch(String)
    case provider(String)

    public var description: String {
        switch self {
        case .outputExists(let path): return "\(path) already exists; pass --resume to continue that run, or choose another output"
        case .runMismatch(let message): return "cannot resume: \(message)"
        case .provider(let message): return "the model cannot be used: \(message)"
        }
    }
}

/// Generates v2 records through any `ChatProvider`, one plan item at a time. Each answer is
/// stripped of code fences, completed with id and metadata, and validated; only valid records
/// are kept. The output file is rewritten atomically after every kept record, so a killed run
/// loses at most the record in flight, and `resume` continues with the items still missing.
public struct DatasetGenerator: Sendable {
    public let provider: any ChatProvider
    public let options: GeneratorOptions
    public let now: @Sendable () -> Date

    public init(provider: any ChatProvider, options: GeneratorOptions, now: @escaping @Sendable () -> Date = { Date() }) {
        self.provider = provider
        self.options = options
        self.now = now
    }

    struct RunParameters: Codable, Equatable {
        var count: Int
        var seed: UInt64
        var model: String
    }

    public func run(progress: @Sendable (GeneratorEvent) -> Void = { _ in }) async throws -> GeneratorSummary {
        let plan = GenerationPlan.make(count: options.count, seed: options.seed)
        var records = try existingRecords()
        let resumed = records.count
        var failures = 0
        var givenUp: [PlanItem] = []
        let done = Set(records.map(\.id))
        progress(.started(total: plan.count, alreadyDone: plan.filter { done.contains($0.id) }.count))
        for item in plan where !done.contains(item.id) {
            var kept = false
            for attempt in 1...max(1, options.attempts) {
                let outcome = try await attemptRecord(item)
                switch outcome {
                case .success(let record):
                    records.append(record)
                    records.sort { $0.id < $1.id }
                    try DatasetFile.write(records, to: options.output)
                    progress(.kept(item, done: records.count, total: plan.count, failures: failures))
                    kept = true
                case .failure(let failure):
                    if case .fatal(let message) = failure { throw GeneratorError.provider(message) }
                    failures += 1
                    try logFailure(item, attempt: attempt, failure: failure)
                    progress(.failed(item, attempt: attempt, reason: failure.reason, failures: failures))
                }
                if kept { break }
            }
            if !kept { givenUp.append(item) }
        }
        return GeneratorSummary(planned: plan.count, kept: records.count, resumed: resumed, failures: failures, givenUp: givenUp)
    }

    /// The records of an earlier run when resuming (checking it was the same plan); nothing
    /// otherwise, refusing to overwrite an existing file.
    private func existingRecords() throws -> [ConflictRecord] {
        let parameters = RunParameters(count: options.count, seed: options.seed, model: options.modelName)
        let fileExists = FileManager.default.fileExists(atPath: options.output.path)
        guard options.resume, fileExists else {
            if fileExists { throw GeneratorError.outputExists(options.output.path) }
            try DatasetFile.writeAtomically(JSONEncoder().encode(parameters), to: options.runFile)
            return []
        }
        if let data = FileManager.default.contents(atPath: options.runFile.path),
           let previous = try? JSONDecoder().decode(RunParameters.self, from: data), previous != parameters {
            throw GeneratorError.runMismatch(
                "\(options.output.path) was started with --num \(previous.count) --seed \(previous.seed) --model \(previous.model)")
        }
        let records = try DatasetFile.read(options.output)
        let planned = Set(GenerationPlan.make(count: options.count, seed: options.seed).map(\.id))
        if let stranger = records.first(where: { !planned.contains($0.id) }) {
            throw GeneratorError.runMismatch("\(options.output.path) holds \(stranger.id), which is not in this run's plan")
        }
        return records
    }

    enum Failure: Error {
        case fatal(String)
        case provider(String)
        case malformed(String, raw: String)
        case invalid([ValidationIssue], raw: String)

        var reason: String {
            switch self {
            case .fatal(let message), .provider(let message): return message
            case .malformed(let message, _): return "not a JSON object: \(message)"
            case .invalid(let issues, _): return "invalid record: " + issues.map(\.description).joined(separator: "; ")
            }
        }

        var raw: String? {
            switch self {
            case .malformed(_, let raw), .invalid(_, let raw): return raw
            default: return nil
            }
        }
    }

    /// One model call. Provider errors become failures (fatal for a wrong key or configuration);
    /// any other error, such as cancellation, ends the run.
    private func attemptRecord(_ item: PlanItem) async throws -> Result<ConflictRecord, Failure> {
        let request = ChatRequest(messages: [.user(GenerationPrompt.user(for: item))], system: GenerationPrompt.system,
                                  maxTokens: options.maxTokens, temperature: options.temperature)
        let response: ChatResponse
        do { response = try await provider.complete(request) } catch let error as ProviderError {
            switch error {
            case .authentication, .notConfigured: return .failure(.fatal(error.description))
            default: return .failure(.provider(error.description))
            }
        }
        return record(from: response.text, for: item, model: response.model.isEmpty ? options.modelName : response.model)
    }

    /// Reads one model answer as the record for `item`; `model` is the id the server reported
    /// (e.g. `claude-sonnet-4-5-20250929`), kept in `metadata.model` as provenance.
    func record(from text: String, for item: PlanItem, model: String) -> Result<ConflictRecord, Failure> {
        let json = GenerationPrompt.extractJSON(text)
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) } catch {
            return .failure(.malformed("\(error)".prefix(200).description, raw: text))
        }
        guard var object = value.objectValue else { return .failure(.malformed("got \(value.typeName)", raw: text)) }
        object["id"] = .string(item.id)
        object["purpose"] = .string(RecordPurpose.contextIsolation.rawValue)
        object["metadata"] = .object(["generated_at": .string(RecordMetadata.timestamp(now())), "model": .string(model),
                                      "reviewed": .bool(false), "quality_score": .null])
        var issues = RecordValidator.issues(.object(object))
        if let type = object["conflict_type"]?.stringValue, type != item.category.conflictType {
            issues.append(ValidationIssue(.conflictType, "the plan asked for \(item.category.conflictType), the model wrote \(type)"))
        }
        if let domain = object["domain"]?.stringValue, domain != item.domain.rawValue {
            issues.append(ValidationIssue(.domain, "the plan asked for \(item.domain.rawValue), the model wrote \(domain)"))
        }
        if !issues.isEmpty { return .failure(.invalid(issues, raw: text)) }
        do { return .success(try DatasetFile.decode(.object(object))) } catch {
            return .failure(.invalid([ValidationIssue(.structure, "\(error)")], raw: text))
        }
    }

    private func logFailure(_ item: PlanItem, attempt: Int, failure: Failure) throws {
        var entry: [String: JSONValue] = [
            "id": .string(item.id), "conflict_type": .string(item.category.conflictType), "domain": .string(item.domain.rawValue),
            "attempt": .number(Double(attempt)), "reason": .string(failure.reason), "at": .string(RecordMetadata.timestamp(now())),
        ]
        if let raw = failure.raw { entry["output"] = .string(String(raw.prefix(2000))) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = try encoder.encode(JSONValue.object(entry)) + Data("\n".utf8)
        let path = options.failureLog.path
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw DatasetError.writeFailed(path, "cannot open for appending") }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }
}

extension GeneratorEvent {
    /// One progress line: a bar with done/total and the failure count, then what happened.
    public var progressLine: String {
        func bar(_ done: Int, _ total: Int) -> String {
            let width = 24, filled = total == 0 ? width : done * width / total
            return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total)"
        }
        switch self {
        case .started(let total, let alreadyDone):
            return bar(alreadyDone, total) + (alreadyDone > 0 ? "  resuming: \(alreadyDone) already done" : "  starting")
        case .kept(let item, let done, let total, let failures):
            return bar(done, total) + "  failures \(failures)  kept \(item.id) \(item.category.conflictType) / \(item.domain.rawValue)"
        case .failed(let item, let attempt, let reason, let failures):
            return "  failed \(item.id) (attempt \(attempt), failures \(failures)): \(reason.prefix(160))"
        }
    }
}
