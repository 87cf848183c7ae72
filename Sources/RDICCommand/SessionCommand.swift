import ArgumentParser
import Foundation
import Engine
import KVCache

/// `rdic session list|show|rm|bench`: saved KV-cache sessions.
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session", abstract: "Manage saved sessions (KV caches on disk).",
        subcommands: [List.self, Show.self, Remove.self, Bench.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List saved sessions.")
        func run() throws {
            for name in SessionStore.names() {
                let url = try SessionStore.url(name)
                let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
                let file = try? SafetensorsFile(path: url.path)
                print("\(name)\t\(file?.metadata["token_count"] ?? "?") tokens\t\(size / 1024) KiB\t\(file?.metadata["key_type"] ?? "?")")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a saved session's header.")
        @Argument var name: String
        func run() throws {
            let file = try SafetensorsFile(path: try SessionStore.url(name).path)
            for key in file.metadata.keys.sorted() where key != "tokens" { print("\(key): \(file.metadata[key]!)") }
            print("data bytes: \(file.dataCount)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a saved session.")
        @Argument var name: String
        func run() throws { try FileManager.default.removeItem(at: try SessionStore.url(name)) }
    }

    /// Time to first token after restoring an N-token session versus prefilling it again.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time restore versus re-prefill of a long session.")
        @OptionGroup var engineOptions: EngineOptions
        @Option(help: "Tokens in the session.") var tokens: Int = 4096

        func run() async throws {
            let engine = try await engineOptions.loadEngine()
            let kv = try engineOptions.kv.storage()
            var text = ""
            var ids: [Int32] = []
            var i = 0
            while ids.count <= tokens {
                text += "Paragraph \(i): the quick brown fox jumps over the lazy dog while counting \(i * 7) stars. "
                i += 1
                if i % 50 == 0 { ids = engine.encode(text) }
            }
            let history = Array(ids.prefix(tokens)), prompt = history + [ids[tokens]]
            var options = GenerationOptions(maxTokens: 1, sampling: .greedy)
            options.stopAtEndOfGeneration = false
            let ctx = max(engineOptions.ctx, tokens + 16)

            let s = engine.makeSession(contextLength: ctx, kv: kv)
            _ = try s.run(prompt: history, options: options) { _ in }
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-bench-session-\(getpid()).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            var t0 = Date()
            try s.save(to: url)
            let saveSeconds = Date().timeIntervalSince(t0)
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0

            t0 = Date()
            let fresh = engine.makeSession(contextLength: ctx, kv: kv)
            let a = try fresh.run(prompt: prompt, options: options) { _ in }
            let prefillSeconds = Date().timeIntervalSince(t0)

            t0 = Date()
            let restored = try engine.restoreSession(from: url.path)
            let b = try restored.run(prompt: prompt, options: options) { _ in }
            let restoreSeconds = Date().timeIntervalSince(t0)

            let full = engine.model.cacheConfiguration(contextLength: ctx, storage: kv)
            var allGlobal = full
            for l in allGlobal.layers.indices { allGlobal.layers[l].window = nil }
            let perTokenFull = allGlobal.layers.indices.reduce(0) { $0 + allGlobal.blockBytes(layer: $1) } / full.blockTokens
            print("tokens: \(tokens), kv: \(kv)")
            print(String(format: "re-prefill + first token: %.3f s", prefillSeconds))
            print(String(format: "restore + first token:    %.3f s  (save took %.3f s)", restoreSeconds, saveSeconds))
            print(String(format: "speed-up: %.1fx, same first token: %@", prefillSeconds / restoreSeconds,
                         a.outputIds == b.outputIds ? "yes" : "NO"))
            print(String(format: "file: %d bytes, %.0f bytes/token; storing every layer in full would take %d bytes/token",
                         size, Double(size) / Double(tokens), perTokenFull))
        }
    }
}
