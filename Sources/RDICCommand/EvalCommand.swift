import ArgumentParser
import Foundation
import IFEval
import Providers
import Scoring

/// `rdic eval`: benchmark scoring.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score model responses on benchmarks.",
        subcommands: [IFEvalCommand.self, EvalStyleCommand.self, EvalAgreementCommand.self])
}

/// `rdic eval ifeval`: the IFEval benchmark on its own file formats.
struct IFEvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ifeval",
        abstract: "Score responses to IFEval prompts, strict and loose, like the reference evaluation_main.",
        discussion: """
            --input-data is the benchmark's input_data.jsonl ({key, prompt, instruction_id_list, kwargs} per \
            line). Give the answers with --responses ({prompt, response} per line), or --model ALIAS to ask a \
            model first (answers are saved to DIR/responses.jsonl, and a re-run continues where it stopped). \
            Writes DIR/eval_results_strict.jsonl and DIR/eval_results_loose.jsonl.
            """)

    @Option(name: .long, help: "The benchmark's input_data.jsonl.")
    var inputData: String

    @Option(name: .long, help: "Responses file (JSON lines of {prompt, response}).")
    var responses: String?

    @Option(name: .long, help: "Generate the responses with this model alias instead of reading them.")
    var model: String?

    @Option(name: .long, help: "Directory for the result files.")
    var outputDir: String

    @Option(name: .long, help: "Maximum tokens per generated response.")
    var maxTokens: Int = 1024

    @Option(name: .long, help: "Config file (default: ~/.config/rdic/config.toml).")
    var config: String?

    @Option(name: .long, help: "NLTK punkt_tab/english directory for exact sentence splits (default: found where NLTK looks, else built in).")
    var punktDir: String?

    func validate() throws {
        if (responses == nil) == (model == nil) {
            throw ValidationError("give exactly one of --responses FILE or --model ALIAS")
        }
    }

    func run() async throws {
        do {
            let inputs = try JSONLines.read(IFEvalInput.self, from: URL(fileURLWithPath: inputData))
            let outputDirectory = URL(fileURLWithPath: outputDir)
            let answers: [IFEvalResponse]
            if let responses {
                answers = try JSONLines.read(IFEvalResponse.self, from: URL(fileURLWithPath: responses))
            } else {
                answers = try await generate(inputs, into: outputDirectory)
            }
            let result = try IFEvalRun.evaluate(inputs: inputs, responses: answers, outputDirectory: outputDirectory,
                                                evaluator: IFEvalEvaluator(tools: TextTools(sentences: try sentenceModel())))
            print(IFEvalRun.report(result), terminator: "")
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func sentenceModel() throws -> PunktSentenceTokenizer {
        guard let directory = punktDir.map(URL.init(fileURLWithPath:)) ?? PunktParameters.installedEnglishDirectory() else {
            FileHandle.standardError.write(Data("note: NLTK's punkt_tab model not found; sentences are split with the built-in approximation\n".utf8))
            return PunktSentenceTokenizer()
        }
        return PunktSentenceTokenizer(parameters: try PunktParameters.load(punktTabDirectory: directory))
    }

    private func generate(_ inputs: [IFEvalInput], into directory: URL) async throws -> [IFEvalResponse] {
        let factory = ProviderFactory(config: try ProviderConfig.load(path: config), local: localProviderMaker)
        do {
            let provider = try factory.provider(named: model ?? "")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = directory.appendingPathComponent("responses.jsonl")
            let existing = FileManager.default.fileExists(atPath: file.path)
                ? try JSONLines.read(IFEvalResponse.self, from: file) : []
            let responder = IFEvalResponder(provider: provider, maxTokens: maxTokens)
            let terminal = isatty(STDERR_FILENO) != 0
            let answers = try await responder.respond(to: inputs, existing: existing, file: file) { done, total in
                let end = terminal && done < total ? "" : "\n"
                FileHandle.standardError.write(Data("\(terminal ? "\r" : "")generating responses \(done)/\(total)\(end)".utf8))
            }
            await factory.shutdown()
            return answers
        } catch {
            await factory.shutdown()
            throw error
        }
    }
}
