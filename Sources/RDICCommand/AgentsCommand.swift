import Agents
import Engine
import ArgumentParser
import Foundation
import Tokenizers
import ModelStore

/// `rdic agents list|show|rm`: the agents saved in a disk tier (as `rdic serve` keeps them).
struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List, show and delete agents saved by the agents runtime (rdic serve).",
        subcommands: [Ask.self, List.self, Show.self, Remove.self])

    /// The agents folder: `--dir`, else `<model store home>/agents` (what `rdic serve` uses).
    struct Location: ParsableArguments {
        @Option(help: "The agents folder (default: the model store's 'agents' folder, as rdic serve uses).")
        var dir: String?

        var directory: AgentDirectory {
            AgentDirectory(url: dir.map { URL(fileURLWithPath: $0) } ?? AgentsCommand.defaultDirectory)
        }
    }

    static var defaultDirectory: URL {
        ModelStore.fromEnvironment().home.appendingPathComponent("agents", isDirectory: true)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per saved agent.")
        @OptionGroup var location: Location
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (saved, unreadable) = location.directory.scan()
            for path in unreadable {
                FileHandle.standardError.write(Data("warning: \(AgentsCommand.skipped(path))\n".utf8))
            }
            if json { return print(try jsonText(saved.map(Row.init))) }
            if saved.isEmpty { return print("no saved agents in \(location.directory.url.path)") }
            print("TENANT            AGENT                             TOKENS      BYTES  PINNED  LAST USED")
            for s in saved {
                print("\(s.tenant.prefix(16).padding(toLength: 16, withPad: " ", startingAt: 0))  "
                      + "\(s.id.prefix(32).padding(toLength: 32, withPad: " ", startingAt: 0))  "
                      + "\(String(s.tokens.count).leftAligned(6))  \(String(s.fileBytes).leftAligned(9))  "
                      + "\(s.pinned ? "yes" : "no ")     \(ISO8601DateFormatter().string(from: s.lastUsed))")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Details of one saved agent.")
        @OptionGroup var location: Location
        @Argument(help: "The agent id.") var id: String
        @Option(help: "The tenant, when several have an agent of this id.") var tenant: String?
        @Flag(help: "Print JSON (with the token ids).") var json = false

        func run() throws {
            let s = try location.directory.one(id: id, tenant: tenant)
            if json { return print(try jsonText(Row(s), tokens: s.tokens)) }
            print("""
                agent:        \(s.id)
                tenant:       \(s.tenant)
                tokens:       \(s.tokens.count)
                file:         \(s.path) (\(s.fileBytes) bytes)
                pinned:       \(s.pinned ? "yes" : "no")
                last used:    \(ISO8601DateFormatter().string(from: s.lastUsed))
                model:        \(s.modelFingerprint)
                """)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a saved agent.")
        @OptionGroup var location: Location
        @Argument(help: "The agent id.") var id: String
        @Option(help: "The tenant, when several have an agent of this id.") var tenant: String?

        func run() throws {
            let s = try location.directory.one(id: id, tenant: tenant)
            try location.directory.remove(s)
            print("removed agent \(s.id) (tenant \(s.tenant))")
        }
    }

    /// One chat turn of a persistent agent: its cache (and messages) come from the agents
    /// folder, only the new message is prefilled, and the agent is saved back on exit.
    struct Ask: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one message to a saved agent (created on first use); its cache persists in the agents folder.")
        @OptionGroup var location: Location
        @OptionGroup var engineOptions: EngineOptions
        @OptionGroup var sampling: SamplingOptions
        @Argument(help: "The agent id.") var id: String
        @Argument(help: "The message.") var message: String
        @Option(help: "The tenant the agent belongs to.") var tenant = "local"
        @Option(help: "A system prompt (used when the agent is new).") var system: String?
        @Option(help: "Most tokens in the answer.") var maxTokens = 256

        func validate() throws { try checkMaxTokens(maxTokens) }

        func run() async throws {
            let engine = try await engineOptions.loadEngine()
            var config = AgentRuntimeConfiguration()
            config.contextLength = engineOptions.ctx
            config.kv = try engineOptions.kv.storage()
            config.directory = location.directory.url
            let runtime = try AgentRuntime(engine: engine, configuration: config)
            var messages: [ChatMessage] = system.map { [.system($0)] } ?? []
            if let json = runtime.notes(tenant: tenant, id: id)?["chat_messages"],
               let saved = try? JSONDecoder().decode([ChatMessage].self, from: Data(json.utf8)) {
                messages = saved
            }
            messages.append(.user(message))
            var options = GenerationOptions(maxTokens: maxTokens, sampling: sampling.parameters)
            options.numerics = engineOptions.numerics
            var request = AgentRequest(tenant: tenant, agent: id, prompt: engine.encode(chat: messages), options: options)
            request.numerics = engineOptions.numerics
            var summary = GenerationSummary()
            for try await event in try runtime.submit(request) {
                switch event {
                case .token(let t): FileHandle.standardOutput.write(Data(t.text.utf8))
                case .finished(let s): summary = s
                }
            }
            print()
            messages.append(.assistant(summary.text))
            try runtime.setNotes(tenant: tenant, id: id, ["chat_messages": String(decoding: try JSONEncoder().encode(messages), as: UTF8.self)])
            FileHandle.standardError.write(Data("agent \(id): \(summary.promptTokens) prompt tokens, \(summary.reusedPromptTokens) from its cache\n".utf8))
            await runtime.shutdown()
        }
    }

    /// The note for a file in the agents folder that is not a readable agent (also `rdic serve`'s).
    static func skipped(_ path: String) -> String { "skipped \(path): not a readable agent file (damaged or truncated?)" }

    /// What the JSON output shows of an agent.
    struct Row: Codable {
        var tenant, id, path, modelFingerprint: String
        var tokens, fileBytes: Int
        var pinned: Bool
        var lastUsed: String
        var tokenIds: [Int32]?

        init(_ s: AgentDirectory.Saved) {
            tenant = s.tenant; id = s.id; path = s.path; modelFingerprint = s.modelFingerprint
            tokens = s.tokens.count; fileBytes = s.fileBytes; pinned = s.pinned
            lastUsed = ISO8601DateFormatter().string(from: s.lastUsed)
        }
    }
}

private func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

private func jsonText(_ row: AgentsCommand.Row, tokens: [Int32]) throws -> String {
    var row = row
    row.tokenIds = tokens
    return try jsonText(row)
}

private extension String {
    func leftAligned(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
