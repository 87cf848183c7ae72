import ArgumentParser
import Foundation
import ModelStore

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Install, list and describe models.",
        subcommands: [Install.self, List.self, Info.self, Default.self, Remove.self]
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
