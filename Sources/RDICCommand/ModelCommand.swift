import ArgumentParser
import Foundation
import GGUF
import ModelStore
import Models

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install, list and describe models.",
        subcommands: [Install.self, List.self, Info.self, Default.self, Remove.self, Synthesize.self]
    )

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a built-in model by name, register a local .gguf in place, or download one.",
            discussion: """
                Downloads resume where an interrupted one stopped and are checked against their sha256. \
                hf:ORG/REPO takes the repository's Q4_K_M .gguf when it holds several (or name one: \
                hf:ORG/REPO/FILE.gguf); ollama:NAME[:TAG] takes the model layer of Ollama's image. \
                HF_ENDPOINT and RDIC_OLLAMA_REGISTRY point at mirrors.
                """)
        @Argument(help: "A built-in name (\(Catalog.entries.map(\.name).joined(separator: ", "))), a path, an http(s) URL, hf:ORG/REPO[/FILE] or ollama:NAME[:TAG].")
        var model: String
        @Option(help: "The name to register it under (default: from the file name).")
        var name: String?
        @Option(help: "Expected sha256 of the file; the install fails if it differs.")
        var sha256: String?

        func run() async throws {
            let installed = try await ModelStore.fromEnvironment().install(model, as: name, sha256: sha256,
                                                                           progress: ProgressBar().handler)
            print("Installed \(installed.name) at \(installed.path)")
        }
    }

    struct Synthesize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a GGUF with a real model's shape and random weights, to measure speed and memory on it.",
            discussion: """
                Every hyper-parameter and tensor shape is the named model's and the tensor types are \
                llama.cpp's Q4_K_M choice, so a token costs what it costs on the real model; the weights \
                are random, so the text is noise. The tokenizer is copied from an installed model of the \
                same family (the embeddings get its vocabulary). The file is marked rdic.synthetic.
                """)
        @Argument(help: "The shape: \(ModelShape.presets.keys.sorted().joined(separator: ", ")).")
        var shape: String
        @Option(name: .shortAndLong, help: "Where to write the .gguf.")
        var output: String
        @Option(help: "The installed model (or .gguf path) whose tokenizer to copy (default: gemma3-270m for gemma3 shapes, smollm2-135m for llama).")
        var tokenizer: String?
        @Option(help: "Seed of the random weights (the same seed writes the same bytes).")
        var seed: UInt64 = 0
        @Flag(help: "Replace the output file if it exists.")
        var force = false

        func run() async throws {
            guard let shape = ModelShape.presets[self.shape] else {
                throw ValidationError("unknown shape '\(self.shape)' (known: \(ModelShape.presets.keys.sorted().joined(separator: ", ")))")
            }
            guard force || !FileManager.default.fileExists(atPath: output) else {
                throw ValidationError("\(output) already exists (use --force to replace it)")
            }
            let donorName = tokenizer ?? (shape.architecture == "gemma3" ? "gemma3-270m" : "smollm2-135m")
            let donor = try GGUFFile(path: try await ModelResolution.resolve(donorName).path)
            let vocabulary = donor.metadata.strings("tokenizer.ggml.tokens")?.count ?? 0
            let model = try SyntheticModel(shape: shape, vocabulary: vocabulary)
            print("\(shape.name) shape: \(String(format: "%.2f", Double(model.parameterCount) / 1e9)) B parameters, \(formatBytes(Int64(model.tensorBytes))) of tensors, vocabulary \(vocabulary) from \(donorName)")
            let bar = ProgressBar()
            try model.write(to: URL(fileURLWithPath: output), tokenizerFrom: donor, seed: seed) { done, total in
                bar.handler("writing", Int64(done), Int64(total))
            }
            print("Wrote \(output)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List installed, discovered and installable models.")
        func run() throws {
            let store = ModelStore.fromEnvironment()
            let installed = try store.installed()
            let defaultName = try store.defaultModelName()
            func row(_ m: InstalledModel) -> String {
                let mark = m.name == defaultName ? "*" : " "
                return "\(mark) \(m.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(formatBytes(m.bytes).padding(toLength: 9, withPad: " ", startingAt: 0)) \(m.path)"
            }
            print("Installed (\(store.home.path)):")
            if installed.isEmpty { print("  none") }
            installed.forEach { print(row($0)) }
            let discovered = store.discover()
            if !discovered.isEmpty {
                print("\nFound in other tools' caches (usable by name):")
                discovered.forEach { print(row($0)) }
            }
            let available = Catalog.entries.filter { e in !installed.contains { $0.name == e.name } }
            if !available.isEmpty {
                print("\nAvailable to install (rdic model install NAME):")
                for e in available {
                    print("\(e.name == defaultName ? "*" : " ") \(e.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(formatBytes(e.bytes).padding(toLength: 9, withPad: " ", startingAt: 0)) \(e.summary)")
                }
            }
            print("\n* default model")
        }
    }

    struct Default: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show or set the model used when none is named.")
        @Argument(help: "The model to make the default.") var model: String?
        func run() throws {
            let store = ModelStore.fromEnvironment()
            if let model {
                try store.setDefault(model)
                print("Default model: \(model)")
            } else {
                print(try store.defaultModelName())
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm",
            abstract: "Forget a model (its file is deleted only if rdic downloaded it).")
        @Argument var model: String
        func run() throws {
            try ModelStore.fromEnvironment().remove(model)
            print("Removed \(model)")
        }
    }
}

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
