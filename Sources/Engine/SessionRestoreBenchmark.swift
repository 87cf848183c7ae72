import Foundation
import KVCache

/// A long session restored from its file against the same tokens prefilled again, each up to
/// its first generated token (what `rdic session bench` prints).
public struct SessionRestoreBenchmark: Sendable {
    public var tokens: Int
    public var kv: KVStorage
    public var saveSeconds: Double
    /// A fresh session prefilling the history and one more token, to its first generated token.
    public var prefillSeconds: Double
    /// The saved history restored, then the same one more token, to its first generated token.
    public var restoreSeconds: Double
    public var fileBytes: Int
    /// Whether both paths generated the same first token.
    public var sameFirstToken: Bool
    /// Bytes per token if every layer kept every token (no sliding windows).
    public var fullBytesPerToken: Int

    public var speedup: Double { prefillSeconds / restoreSeconds }
}

extension Engine {
    /// Saves a `tokens`-token session (a repeated English paragraph) to a temporary file, then
    /// times its first token restored from the file and prefilled from scratch.
    public func benchmarkRestore(tokens: Int, contextLength: Int, kv: KVStorage = .f16) throws -> SessionRestoreBenchmark {
        precondition(tokens > 0)
        var text = "", ids: [Int32] = [], i = 0
        while ids.count <= tokens {
            text += "Paragraph \(i): the quick brown fox jumps over the lazy dog while counting \(i * 7) stars. "
            i += 1
            if i % 50 == 0 { ids = encode(text) }
        }
        let history = Array(ids.prefix(tokens)), prompt = history + [ids[tokens]]
        var options = GenerationOptions(maxTokens: 1, sampling: .greedy)
        options.stopAtEndOfGeneration = false
        let ctx = max(contextLength, tokens + 16)

        let session = makeSession(contextLength: ctx, kv: kv)
        _ = try session.run(prompt: history, options: options) { _ in }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("rdic-bench-session-\(getpid())-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        var start = Date()
        try session.save(to: url)
        let saveSeconds = Date().timeIntervalSince(start)
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0

        start = Date()
        let fresh = makeSession(contextLength: ctx, kv: kv)
        let prefilled = try fresh.run(prompt: prompt, options: options) { _ in }
        let prefillSeconds = Date().timeIntervalSince(start)

        start = Date()
        let restored = try restoreSession(from: url.path)
        let resumed = try restored.run(prompt: prompt, options: options) { _ in }
        let restoreSeconds = Date().timeIntervalSince(start)

        var allGlobal = model.cacheConfiguration(contextLength: ctx, storage: kv)
        for l in allGlobal.layers.indices { allGlobal.layers[l].window = nil }
        let perToken = allGlobal.layers.indices.reduce(0) { $0 + allGlobal.blockBytes(layer: $1) } / allGlobal.blockTokens
        return SessionRestoreBenchmark(tokens: tokens, kv: kv, saveSeconds: saveSeconds, prefillSeconds: prefillSeconds,
                                       restoreSeconds: restoreSeconds, fileBytes: size,
                                       sameFirstToken: prefilled.outputIds == resumed.outputIds, fullBytesPerToken: perToken)
    }
}
