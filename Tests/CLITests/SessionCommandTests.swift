import Foundation
import TestSupport
import Testing

/// A temporary `$RDIC_HOME` (so saved sessions never touch the user's) and the SmolLM2 model
/// passed by path.
private struct SessionHome {
    let home: URL
    let model: String

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-session-cli-\(UUID())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        model = try TestModels.path(for: .smollm2)
    }

    func rdic(_ arguments: [String], stdin: String? = nil) throws -> RDICBinary.Result {
        try RDICBinary.run(arguments, environment: ["RDIC_HOME": home.path], stdin: stdin)
    }

    /// Engine flags: the model by path, a small context, greedy sampling.
    var engine: [String] { ["--model", model, "--ctx", "1024", "--threads", "2", "--temperature", "0"] }

    /// `rdic session show NAME` as key/value pairs.
    func show(_ name: String) throws -> [String: String] {
        let r = try rdic(["session", "show", name])
        #expect(r.status == 0, "\(r.stderr)")
        var out: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// `rdic session export NAME --tokens-json -` decoded.
    func exportedTokens(_ name: String, extra: [String] = []) throws -> (ids: [Int32], text: String) {
        let r = try rdic(["session", "export", name, "--output", home.appendingPathComponent("x-\(UUID()).safetensors").path,
                          "--tokens-json", "-"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let ids = try #require(object["tokens"] as? [Int]).map { Int32($0) }
        #expect((object["pieces"] as? [String])?.count == ids.count)
        #expect(object["token_count"] as? Int == ids.count)
        return (ids, try #require(object["text"] as? String))
    }

    func remove() { try? FileManager.default.removeItem(at: home) }
}

/// The safetensors header of a file: proves an export is readable without rdic.
private func safetensorsHeader(_ url: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: url)
    let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    return try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
}

@Suite(.serialized, .computeBound) struct SessionCommandTests {
    /// Two `rdic chat --session` runs: the second restores the conversation and its cache,
    /// prefilling only the new message (every saved token is reused).
    @Test func chatSessionContinuesAcrossRuns() throws {
        let env = try SessionHome()
        defer { env.remove() }
        let first = try env.rdic(["chat", "--session", "talk", "--max-tokens", "12", "--verbose"] + env.engine,
                                 stdin: "What is the capital of France?\n")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("(0 reused from the cache)"))
        let answer = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!answer.isEmpty)

        let saved = try env.show("talk")
        #expect(saved["chat_messages"] == "2 messages")
        let count = try #require(saved["token_count"].flatMap { Int($0) })
        let history = try env.exportedTokens("talk")
        #expect(history.ids.count == count)
        #expect(history.text.contains("What is the capital of France?"))
        #expect(history.text.contains(answer))
        #expect(history.text.hasSuffix("<|im_end|>\n"), "the answer's end of turn is saved too")

        let second = try env.rdic(["chat", "--session", "talk", "--max-tokens", "12", "--verbose"] + env.engine,
                                  stdin: "And of Italy?\n")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("session talk: restored \(count) tokens, 2 messages"))
        #expect(second.stderr.contains("(\(count) reused from the cache)"), "\(second.stderr)")
        let after = try env.show("talk")
        #expect(after["chat_messages"] == "4 messages")
        let all = try env.exportedTokens("talk")
        #expect(Array(all.ids.prefix(count)) == history.ids)
        #expect(all.text.contains("And of Italy?"))
    }

    /// `rdic generate --session` saves every sampled token, the last one included, and the
    /// next run continues after all of them without prefilling them again.
    @Test func generateSessionKeepsTheWholeOutput() throws {
        let env = try SessionHome()
        defer { env.remove() }
        func generate(_ prompt: String) throws -> [String: Any] {
            let r = try env.rdic(["generate", "--session", "g", "--prompt", prompt, "--max-tokens", "6", "--json"] + env.engine)
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let first = try generate("The three primary colours are")
        let promptIds = try #require(first["prompt_ids"] as? [Int]).map { Int32($0) }
        let outputIds = try #require(first["output_ids"] as? [Int]).map { Int32($0) }
        try #require(first["finish_reason"] as? String == "maxTokens")
        #expect(outputIds.count == 6)
        let saved = try env.exportedTokens("g").ids
        #expect(saved == promptIds + outputIds)

        let second = try generate(" Also,")
        let next = try #require(second["prompt_ids"] as? [Int]).map { Int32($0) }
        #expect(Array(next.prefix(saved.count)) == saved)
        let timings = try #require(second["timings"] as? [String: Any])
        #expect(timings["reused_prompt_tokens"] as? Int == saved.count)
    }

    /// list / show / export / import / rm, and their refusals.
    @Test func manageSavedSessions() throws {
        let env = try SessionHome()
        defer { env.remove() }
        let empty = try env.rdic(["session", "list"])
        #expect(empty.status == 0)
        #expect(empty.stdout.isEmpty)
        #expect(empty.stderr.contains("no saved sessions"))
        for command in [["show", "nope"], ["rm", "nope"], ["export", "nope"]] {
            let r = try env.rdic(["session"] + command)
            #expect(r.status != 0)
            #expect(r.stderr.contains("no saved session named 'nope' (none saved yet)"), "\(r.stderr)")
        }
        for bad in ["../escape", ".hidden", "a b"] {
            let r = try env.rdic(["session", "show", bad])
            #expect(r.status != 0)
            #expect(r.stderr.contains("invalid session name '\(bad)'"), "\(r.stderr)")
        }

        let made = try env.rdic(["generate", "--session", "s1", "--prompt", "Hello", "--max-tokens", "2"] + env.engine)
        #expect(made.status == 0, "\(made.stderr)")
        let list = try env.rdic(["session", "list"])
        #expect(list.stdout.hasPrefix("s1\t"))
        #expect(list.stdout.contains("f16\tSmolLM2-135M-Instruct.Q4_1.gguf"))
        let header = try env.show("s1")
        let count = try #require(header["token_count"].flatMap { Int($0) })
        let stored = env.home.appendingPathComponent("sessions/s1.safetensors")
        #expect(header["file"] == stored.path)

        // Export: a plain safetensors file, byte for byte the saved session; never overwritten
        // without --force.
        let out = env.home.appendingPathComponent("export/s1.safetensors")
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        let exported = try env.rdic(["session", "export", "s1", "--output", out.path])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try Data(contentsOf: out) == (try Data(contentsOf: stored)))
        let tensors = try safetensorsHeader(out)
        let keys = try #require(tensors["layers.0.keys"] as? [String: Any])
        #expect(keys["dtype"] as? String == "F16")
        #expect((keys["shape"] as? [Int])?.first == count)
        #expect((tensors["__metadata__"] as? [String: String])?["format"] == "rdic-kv-session")
        let again = try env.rdic(["session", "export", "s1", "--output", out.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("\(out.path) already exists (use --force to replace it)"))
        #expect(try env.rdic(["session", "export", "s1", "--output", out.path, "--force"]).status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path)
        #expect(leftovers == ["s1.safetensors"], "no temporary files left behind")

        // Tokens decode with the session's own model only.
        let gemma = try TestModels.path(for: .gemma3)
        let wrong = try env.rdic(["session", "export", "s1", "--output", env.home.appendingPathComponent("w.safetensors").path,
                                  "--tokens-json", "-", "--model", gemma])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("is not the model session 's1' was saved from"), "\(wrong.stderr)")
        #expect(try env.exportedTokens("s1").text.hasPrefix("Hello"))

        // Import the export under another name; refuse files that are not sessions.
        let imported = try env.rdic(["session", "import", out.path, "copy"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try env.show("copy")["token_count"] == String(count))
        let twice = try env.rdic(["session", "import", out.path, "copy"])
        #expect(twice.status != 0)
        #expect(twice.stderr.contains("already exists"))
        let notSession = env.home.appendingPathComponent("junk.safetensors")
        try Data("not a safetensors file".utf8).write(to: notSession)
        let junk = try env.rdic(["session", "import", notSession.path])
        #expect(junk.status != 0)
        #expect(junk.stderr.contains("is not an rdic session file"), "\(junk.stderr)")
        // A damaged session (one byte of its cache flipped) is refused too, not copied in.
        var bytes = try Data(contentsOf: out)
        bytes[bytes.count - 100] ^= 0x40
        let damaged = env.home.appendingPathComponent("damaged.safetensors")
        try bytes.write(to: damaged)
        let refused = try env.rdic(["session", "import", damaged.path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("corrupted (checksum"), "\(refused.stderr)")
        #expect(!(try env.rdic(["session", "list"]).stdout.contains("damaged\t")))

        #expect(try env.rdic(["session", "rm", "s1"]).status == 0)
        let remaining = try env.rdic(["session", "list"])
        #expect(remaining.stdout.hasPrefix("copy\t"))
        #expect(!remaining.stdout.contains("s1\t"))
        let gone = try env.rdic(["session", "show", "s1"])
        #expect(gone.stderr.contains("no saved session named 's1'; saved: copy"), "\(gone.stderr)")
    }
}
