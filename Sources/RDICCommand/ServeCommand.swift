import Agents
import ArgumentParser
import Engine
import Foundation
import Logging
import Server

/// `rdic serve`: the OpenAI- and Anthropic-compatible server where every agent keeps its cache.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a local model over the OpenAI and Anthropic HTTP APIs; each agent keeps its KV cache.")

    @Option(help: "A model name (rdic model list) or a path to a .gguf file. Default: the default model.")
    var model: String?
    @Option(help: "The model id clients send and /v1/models lists (default: the model's name, or its file name without .gguf).")
    var servedModelName: String?
    @Option(help: "Address to listen on. Without an API key only loopback addresses are allowed.")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).")
    var port = 8080
    @Option(name: .customLong("api-key"), help: "An API key; repeat for several tenants. Also from RDIC_API_KEYS (comma-separated).")
    var apiKeys: [String] = []
    @Option(help: "Context length per agent, in tokens (capped at the model's).")
    var ctx = 4096
    @OptionGroup var kv: KVOptions
    @Option(help: "RAM for agents' KV caches, e.g. 2GiB, 512MiB or bytes (default: unlimited).")
    var cacheBudget: String?
    @Option(help: "Folder where agents' caches are saved (the disk tier; kept across restarts).")
    var cacheDir: String?
    @Option(help: "Requests generated together.")
    var parallel = 4
    @Option(help: "Requests that may wait for a slot; past it: 429 with Retry-After.")
    var queueLimit = 64
    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?
    @Option(help: "Largest request body in bytes (larger: 413).")
    var maxBody = 8 << 20

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 (any free port) to 65535, got \(port)") }
        guard ctx >= 1 else { throw ValidationError("--ctx must be at least 1") }
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        guard queueLimit >= 0 else { throw ValidationError("--queue-limit must not be negative") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard maxBody >= 1 else { throw ValidationError("--max-body must be at least 1 byte") }
        _ = try budgetBytes()
    }

    private func budgetBytes() throws -> Int? {
        try cacheBudget.map { text in
            guard let bytes = ByteCount.parse(text) else { throw ValidationError("--cache-budget: cannot read '\(text)' (e.g. 2GiB, 512MiB, 1000000)") }
            return bytes
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let budget = try budgetBytes()
        let installed = try await ModelResolution.resolve(model)
        let engine = try Engine(path: installed.path, threads: threads, contextLength: ctx, kv: try kv.storage())
        // A model given by path is served under its file name without `.gguf`.
        let modelName = servedModelName ?? (installed.name.contains("/")
            ? URL(fileURLWithPath: installed.path).deletingPathExtension().lastPathComponent : installed.name)
        var configuration = ServerConfiguration(
            modelName: modelName, host: host, port: port,
            apiKeys: apiKeys + ServerConfiguration.apiKeys(fromEnvironment: ProcessInfo.processInfo.environment["RDIC_API_KEYS"]))
        configuration.modelAliases = Array(Set([model, URL(fileURLWithPath: installed.path).lastPathComponent].compactMap { $0 })
            .subtracting([modelName])).sorted()
        configuration.maxBodyBytes = maxBody
        let backend = try ServeBackend.make(engine: engine, contextLength: ctx, kv: try kv.storage(), parallel: parallel,
                                            ramBudget: budget, directory: cacheDir.map { URL(fileURLWithPath: $0) },
                                            queueLimit: queueLimit)
        for path in backend.unreadableAgentFiles {
            FileHandle.standardError.write(Data("rdic serve: warning: \(AgentsCommand.skipped(path))\n".utf8))
        }
        let server = try RDICServer(backend: backend, configuration: configuration)
        let keys = configuration.apiKeys.isEmpty ? "no API key (loopback only)" : "\(configuration.apiKeys.count) API key(s)"
        let summary = "model \(configuration.modelName), context \(backend.contextLength), \(keys)"
        try await server.run { url in
            FileHandle.standardOutput.write(Data("rdic serve: ready on \(url) (\(summary))\n".utf8))
        }
    }
}
