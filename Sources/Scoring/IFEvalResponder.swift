import Foundation
import IFEval
import Providers

/// Produces a benchmark response file by asking a model each prompt of `input_data.jsonl`.
public struct IFEvalResponder: Sendable {
    public var provider: any ChatProvider
    public var maxTokens: Int
    public var temperature: Double?

    public init(provider: any ChatProvider, maxTokens: Int = 1024, temperature: Double? = 0) {
        self.provider = provider
        self.maxTokens = maxTokens
        self.temperature = temperature
    }

    /// Asks every prompt not already answered in `existing`, appending each answer to `file`
    /// as it arrives so an interrupted run loses nothing; `progress(done, total)` after each.
    public func respond(to inputs: [IFEvalInput], existing: [IFEvalResponse] = [], file: URL? = nil,
                        progress: @Sendable (Int, Int) -> Void = { _, _ in }) async throws -> [IFEvalResponse] {
        var responses = existing
        var answered = Set(existing.map(\.prompt))
        let pending = inputs.filter { !answered.contains($0.prompt) }
        if let file, !FileManager.default.fileExists(atPath: file.path) {
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        }
        for (index, input) in pending.enumerated() {
            let request = ChatRequest(messages: [.user(input.prompt)], maxTokens: maxTokens, temperature: temperature)
            let answer = try await provider.complete(request)
            let response = IFEvalResponse(prompt: input.prompt, response: answer.text)
            responses.append(response)
            answered.insert(input.prompt)
            if let file { try append(response, to: file) }
            progress(index + 1, pending.count)
        }
        return responses
    }

    private func append(_ response: IFEvalResponse, to file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(JSONLines.encode([response]).utf8))
    }
}

/// Runs the whole benchmark evaluation on files, as the reference's `evaluation_main` does.
public enum IFEvalRun {
    public struct Result: Sendable {
        public var strict: [IFEvalOutput]
        public var loose: [IFEvalOutput]
        public var files: [IFEvalMode: URL]
    }

    /// Scores `responses` against `inputs`, writes `eval_results_strict.jsonl` and
    /// `eval_results_loose.jsonl` into `outputDirectory`.
    public static func evaluate(inputs: [IFEvalInput], responses: [IFEvalResponse], outputDirectory: URL,
                                evaluator: IFEvalEvaluator = .init()) throws -> Result {
        var byPrompt: [String: String] = [:]
        for response in responses { byPrompt[response.prompt] = response.response }
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        var files: [IFEvalMode: URL] = [:]
        var outputs: [IFEvalMode: [IFEvalOutput]] = [:]
        for mode in IFEvalMode.allCases {
            let results = try evaluator.evaluate(inputs, responses: byPrompt, mode: mode)
            let url = outputDirectory.appendingPathComponent("eval_results_\(mode.rawValue).jsonl")
            try JSONLines.write(results, to: url)
            files[mode] = url
            outputs[mode] = results
        }
        return Result(strict: outputs[.strict] ?? [], loose: outputs[.loose] ?? [], files: files)
    }

    /// The text the reference prints for both modes.
    public static func report(_ result: Result) -> String {
        IFEvalMode.allCases.map { mode in
            let outputs = mode == .strict ? result.strict : result.loose
            return String(repeating: "=", count: 64) + "\n"
                + "\(result.files[mode]?.path ?? mode.rawValue) Accuracy Scores:\n"
                + IFEvalReport(outputs).text + "\n"
        }.joined()
    }
}
