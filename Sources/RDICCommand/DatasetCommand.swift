import ArgumentParser
import Datasets
import Foundation
import Providers

/// `rdic dataset ...`: conflict datasets (schema v2). Every subcommand is a thin wrapper over
/// the Datasets library.
struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Validate, generate, split, summarise, sample and migrate conflict datasets (schema v2).",
        discussion: "Files are JSON arrays (.json) or one record per line (.jsonl). The bundled demo data is in Sources/Datasets/Resources/.",
        subcommands: [Validate.self, Generate.self, Split.self, Stats.self, Sample.self, Migrate.self])

    static func fail(_ message: Any, code: Int32 = 2) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(code)
    }

    static func load(_ path: String) throws -> [ConflictRecord] {
        do { return try DatasetFile.read(URL(fileURLWithPath: path)) } catch { throw fail(error) }
    }

    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every record against schema v2 and the content rules; exit 1 if any record is invalid.")

        @Argument(help: "Dataset file (.json array or .jsonl).")
        var file: String

        @Flag(name: .long, help: "Print the report as JSON.")
        var json = false

        func run() async throws {
            let report: ValidationReport
            do { report = try DatasetValidator.validate(file: URL(fileURLWithPath: file)) } catch { throw DatasetCommand.fail(error) }
            if json { try DatasetCommand.printJSON(report) } else { print(report.rendered()) }
            if !report.isValid { throw ExitCode(1) }
        }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate records with any model alias; saved after every record, --resume continues a broken run.",
            discussion: """
                The plan (which type, subtype and domain each record gets) is fixed by --num and --seed; \
                types are balanced. Failed attempts are logged to OUTPUT.failures.jsonl; the exit status \
                is 1 when some records were skipped after every attempt (run again with --resume).
                """)

        @Option(name: .long, help: "Records to generate.")
        var num: Int = 30

        @Option(name: .long, help: "Model alias or backend:model-id.")
        var model: String = "claude-sonnet-4.5"

        @Option(name: .long, help: "Seed of the (type, subtype, domain) plan.")
        var seed: UInt64 = 42

        @Option(name: .shortAndLong, help: "Output file (.json or .jsonl).")
        var output: String

        @Flag(name: .long, help: "Continue the run that wrote OUTPUT (same --num, --seed, --model).")
        var resume = false

        @Option(name: .long, help: "Sampling temperature.")
        var temperature: Double = 0.8

        @Option(name: .long, help: "Model calls per record before it is skipped.")
        var attempts: Int = 2

        @Option(name: .long, help: "Config file (default: ~/.config/rdic/config.toml).")
        var config: String?

        func validate() throws {
            guard num >= 1 else { throw ValidationError("--num must be at least 1") }
            guard attempts >= 1 else { throw ValidationError("--attempts must be at least 1") }
        }

        func run() async throws {
            let providerConfig: ProviderConfig
            do { providerConfig = try ProviderConfig.load(path: config) } catch { throw DatasetCommand.fail(error) }
            let factory = ProviderFactory(config: providerConfig, local: localProviderMaker)
            let provider: any ChatProvider
            do { provider = try factory.provider(named: model) } catch {
                await factory.shutdown()
                throw DatasetCommand.fail(error)
            }
            let options = GeneratorOptions(count: num, seed: seed, modelName: model, output: URL(fileURLWithPath: output),
                                            resume: resume, temperature: temperature, attempts: attempts)
            let terminal = isatty(STDERR_FILENO) != 0
            let summary: GeneratorSummary
            do {
                summary = try await DatasetGenerator(provider: provider, options: options).run { event in
                    let line = event.progressLine
                    if case .failed = event, terminal { FileHandle.standardError.write(Data("\n".utf8)) }
                    FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
                }
            } catch {
                await factory.shutdown()
                throw DatasetCommand.fail(error)
            }
            await factory.shutdown()
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            print("\(output): \(summary.kept)/\(summary.planned) records (\(summary.resumed) from the earlier run), "
                  + "\(summary.failures) failed attempts" + (summary.failures > 0 ? " (see \(options.failureLog.path))" : ""))
            if !summary.givenUp.isEmpty {
                print("skipped: " + summary.givenUp.map(\.id).joined(separator: ", ") + "; run again with --resume to retry them")
                throw ExitCode(1)
            }
        }
    }

    struct Split: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Split into train and test sets, stratified by conflict type.")

        @Argument(help: "Dataset file.")
        var file: String

        @Option(name: .long, help: "Fraction of each type that goes to train.")
        var train: Double = 0.8

        @Option(name: .long, help: "Shuffle seed.")
        var seed: UInt64 = 42

        @Option(name: .long, help: "Train output (default: FILE with _train before the extension).")
        var trainOutput: String?

        @Option(name: .long, help: "Test output (default: FILE with _test before the extension).")
        var testOutput: String?

        func run() async throws {
            guard (0...1).contains(train) else { throw DatasetCommand.fail("--train must be between 0 and 1") }
            let records = try DatasetCommand.load(file)
            let (trainSet, testSet) = DatasetOperations.split(records, trainFraction: train, seed: seed)
            let input = URL(fileURLWithPath: file)
            func sibling(_ suffix: String) -> String {
                input.deletingPathExtension().path + "_\(suffix)." + (input.pathExtension.isEmpty ? "json" : input.pathExtension)
            }
            let trainPath = trainOutput ?? sibling("train"), testPath = testOutput ?? sibling("test")
            do {
                try DatasetFile.write(trainSet, to: URL(fileURLWithPath: trainPath))
                try DatasetFile.write(testSet, to: URL(fileURLWithPath: testPath))
            } catch { throw DatasetCommand.fail(error) }
            print("train: \(trainSet.count) records -> \(trainPath)")
            print("test: \(testSet.count) records -> \(testPath)")
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts by type, subtype, domain and purpose; constraints; review state.")

        @Argument(help: "Dataset file.")
        var file: String

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let stats = DatasetStats(try DatasetCommand.load(file))
            if json { try DatasetCommand.printJSON(stats) } else { print(stats.rendered()) }
        }
    }

    struct Sample: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Draw N records for manual review.")

        @Argument(help: "How many records.")
        var count: Int

        @Argument(help: "Dataset file.")
        var file: String

        @Option(name: .long, help: "Sampling seed.")
        var seed: UInt64 = 42

        @Option(name: .shortAndLong, help: "Write the sample to this file instead of printing it.")
        var output: String?

        func run() async throws {
            let sample = DatasetOperations.sample(try DatasetCommand.load(file), count: count, seed: seed)
            if let output {
                do { try DatasetFile.write(sample, to: URL(fileURLWithPath: output)) } catch { throw DatasetCommand.fail(error) }
                print("\(sample.count) records -> \(output)")
            } else {
                print(sample.map(DatasetOperations.reviewText).joined(separator: "\n\n"))
            }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert v1 records (one turn merging both instructions) to v2; in place keeps FILE.v1.bak.",
            discussion: """
                v1 record: {id, conflict_type, domain, turns: [{turn_id: 1, role: "user", content}], \
                conflicting_instructions: [first, second], task?, expected_behavior?, ground_truth_clusters?, metadata?}.
                """)

        @Argument(help: "v1 dataset file.")
        var file: String

        @Option(name: .shortAndLong, help: "Write v2 here instead of over FILE.")
        var output: String?

        func run() async throws {
            let result: (records: [ConflictRecord], backup: URL?)
            do {
                result = try Migration.migrateFile(URL(fileURLWithPath: file), to: output.map { URL(fileURLWithPath: $0) })
            } catch { throw DatasetCommand.fail(error) }
            print("migrated \(result.records.count) records -> \(output ?? file)" + (result.backup.map { " (backup: \($0.path))" } ?? ""))
            let report = try DatasetValidator.validate(result.records)
            if !report.isValid {
                print("\(report.invalid) migrated records do not pass validation; see rdic dataset validate \(output ?? file)")
            }
        }
    }
}
