import AtomicWrites
import Agents
import ArgumentParser
import Foundation
import Engine
import GGUF
import KVCache
import Tokenizers

/// `rdic session list|show|rm|export|import|bench`: saved KV-cache sessions.
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session", abstract: "Manage saved sessions (KV caches on disk).",
        discussion: "Sessions are saved by `rdic chat --session NAME` and `rdic generate --session NAME` under $RDIC_HOME/sessions.",
        subcommands: [List.self, Show.self, Remove.self, Export.self, Import.self, Bench.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List saved sessions: name, tokens, size, KV type, model.")
        func run() throws {
            let names = SessionStore.library.names()
            if names.isEmpty {
                FileHandle.standardError.write(Data("no saved sessions (rdic chat --session NAME saves one)\n".utf8))
            }
            for name in names {
                let url = try SessionStore.library.url(name)
                let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
                guard let header = try? SessionLibrary.header(url) else {
                    print("\(name)\tnot a session file\t\(size / 1024) KiB")
                    continue
                }
                let model = header["model_path"].map { URL(fileURLWithPath: $0).lastPathComponent } ?? "?"
                print("\(name)\t\(header["token_count"] ?? "?") tokens\t\(size / 1024) KiB\t\(header["key_type"] ?? "?")\t\(model)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a saved session's header (token ids: see export --tokens-json).")
        @Argument(help: "The session's name.") var name: String
        func run() throws {
            let url = try SessionStore.library.existing(name)
            let header = try SessionLibrary.header(url)
            print("file: \(url.path)")
            for key in header.keys.sorted() where key != "tokens" {
                if key == "chat_messages",
                   let messages = try? JSONDecoder().decode([ChatMessage].self, from: Data(header[key]!.utf8)) {
                    print("chat_messages: \(messages.count) messages")
                } else if key == "layers", let summary = Self.layerSummary(header[key]!) {
                    print("layers: \(summary)")
                } else {
                    print("\(key): \(header[key]!)")
                }
            }
            let file = try SafetensorsFile(path: url.path)
            print("data bytes: \(file.dataCount)")
        }

        /// "18 (3 global, 15 sliding with window 512, storing tokens from 128 on)" from the
        /// per-layer JSON, which is one long line otherwise.
        static func layerSummary(_ json: String) -> String? {
            guard let layers = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] else { return nil }
            let sliding = layers.filter { $0["kind"] as? String == "sliding" }
            var text = "\(layers.count) (\(layers.count - sliding.count) global"
            if let first = sliding.first {
                text += ", \(sliding.count) sliding with window \(first["window"] as? Int ?? 0)"
                text += ", storing tokens from \(sliding.compactMap { $0["first_token"] as? Int }.min() ?? 0) on"
            }
            return text + ")"
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a saved session.")
        @Argument(help: "The session's name.") var name: String
        func run() throws {
            let url = try SessionStore.library.existing(name)
            do { try FileManager.default.removeItem(at: url) } catch {
                throw SessionLibraryError.writeFailed(path: url.path, reason: error.localizedDescription)
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a saved session to a standalone safetensors file, and optionally its tokens as JSON.",
            discussion: """
            The file is plain safetensors, readable by any reader (e.g. Python's \
            safetensors.numpy.load_file). Per layer N: layers.N.keys and layers.N.values \
            ([tokens, kv_heads, head_length], F16 or F32; quantized KV types are U8 rows of ggml \
            blocks) and layers.N.positions (I32), holding the tokens the layer still stores (a \
            sliding-window layer only its window: see "first_token" in the "layers" metadata). The \
            metadata also holds the token ids, key_type and value_type, kv_rotation ("hadamard": \
            quantized rows hold each head multiplied by the orthonormal Hadamard matrix, which is \
            its own inverse), the model fingerprint and a checksum.

            --tokens-json writes {"session", "model_fingerprint", "token_count", "tokens", "pieces", \
            "text"}: the token ids, each token's text, and the decoded sequence. Decoding needs the \
            model the session was saved from (recorded in the session; --model overrides).

            Files are written atomically and never replaced unless --force is given.
            """)
        @Argument(help: "The session's name.") var name: String
        @Option(name: .shortAndLong, help: "Destination file (default: NAME.safetensors in the current directory).")
        var output: String?
        @Option(help: "Also write the tokens as JSON to this file ('-': standard output).") var tokensJson: String?
        @Option(help: "The model to decode the tokens with (default: the one the session was saved from).")
        var model: String?
        @Flag(help: "Replace existing destination files.") var force = false

        func run() throws {
            let source = try SessionStore.library.existing(name)
            let header = try SessionLibrary.verifiedHeader(source)
            let destination = URL(fileURLWithPath: output ?? "\(name).safetensors")
            let jsonDestination = tokensJson.flatMap { $0 == "-" ? nil : URL(fileURLWithPath: $0) }
            // Refuse before writing anything, so a refusal never leaves half an export.
            for url in [destination] + (jsonDestination.map { [$0] } ?? []) where !force {
                if FileManager.default.fileExists(atPath: url.path) { throw SessionLibraryError.exists(path: url.path) }
            }
            let json = try tokensJson.map { _ in try tokensDocument(header) }
            try AtomicFile.copy(from: source, to: destination, overwrite: force)
            if let json {
                if let jsonDestination {
                    try AtomicFile.write(json, to: jsonDestination, overwrite: force)
                } else {
                    FileHandle.standardOutput.write(json + Data("\n".utf8))
                }
            }
        }

        /// The session's tokens, decoded with the tokenizer of the model it was saved from
        /// (checked by fingerprint, so a wrong --model cannot produce plausible-looking text).
        func tokensDocument(_ header: [String: String]) throws -> Data {
            guard let tokenText = header["tokens"],
                  let ids = try? JSONDecoder().decode([Int32].self, from: Data(tokenText.utf8)) else {
                throw SessionLibraryError.notASession(path: name, reason: "no token list in the header")
            }
            let path: String
            if let model { path = try resolveModelPath(model) }
            else if let saved = header["model_path"], FileManager.default.fileExists(atPath: saved) { path = saved }
            else { throw SessionLibraryError.noModelToDecode(session: name) }
            let gguf = try GGUFFile(path: path)
            guard ModelFingerprint.of(gguf) == header["model_fingerprint"] else {
                throw SessionLibraryError.modelMismatch(model: path, session: name)
            }
            let tokenizer = try Tokenizer(gguf: gguf)
            let document = TokensDocument(
                session: name, model_fingerprint: header["model_fingerprint"] ?? "", token_count: ids.count,
                tokens: ids, pieces: ids.map { String(decoding: tokenizer.piece($0), as: UTF8.self) },
                text: try tokenizer.decode(ids))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(document)
        }
    }

    /// The `export --tokens-json` document.
    struct TokensDocument: Codable {
        var session: String
        var model_fingerprint: String
        var token_count: Int
        var tokens: [Int32]
        var pieces: [String]
        var text: String
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a session file (e.g. one exported elsewhere) to the saved sessions.",
            discussion: "The file must be an rdic session; it is fully checked (checksum, model, version) when a command restores it.")
        @Argument(help: "The session file.") var file: String
        @Argument(help: "The name to save it under (default: the file name without .safetensors).") var name: String?
        @Flag(help: "Replace a saved session of that name.") var force = false

        func run() throws {
            let source = URL(fileURLWithPath: file)
            let name = self.name ?? source.deletingPathExtension().lastPathComponent
            try SessionStore.library.importFile(source, as: name, overwrite: force)
            print(name)
        }
    }

    /// Time to first token after restoring an N-token session versus prefilling it again.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time restore versus re-prefill of a long session.")
        @OptionGroup var engineOptions: EngineOptions
        @Option(help: "Tokens in the session.") var tokens: Int = 4096

        func run() async throws {
            let engine = try await engineOptions.loadEngine()
            let r = try engine.benchmarkRestore(tokens: tokens, contextLength: engineOptions.ctx, kv: try engineOptions.kv.storage())
            print("tokens: \(r.tokens), kv: \(r.kv)")
            print(String(format: "re-prefill + first token: %.3f s", r.prefillSeconds))
            print(String(format: "restore + first token:    %.3f s  (save took %.3f s)", r.restoreSeconds, r.saveSeconds))
            print(String(format: "speed-up: %.1fx, same first token: %@", r.speedup, r.sameFirstToken ? "yes" : "NO"))
            print(String(format: "file: %d bytes, %.0f bytes/token; storing every layer in full would take %d bytes/token",
                         r.fileBytes, Double(r.fileBytes) / Double(r.tokens), r.fullBytesPerToken))
        }
    }
}
