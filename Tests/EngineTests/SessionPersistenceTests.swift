import Foundation
import Testing
import KVCache
@testable import Engine
import TestSupport

/// Engines shared by the session tests (context 2048 keeps the caches small).
enum SessionEngines {
    static let gemma = Result { try Engine(path: TestModels.path(for: .gemma3), threads: 2, contextLength: 2048) }
    static let smollm = Result { try Engine(path: TestModels.path(for: .smollm2), threads: 2, contextLength: 2048) }

    static func engine(_ name: TestModels.Name) throws -> Engine {
        switch name {
        case .gemma3: try gemma.get()
        case .smollm2: try smollm.get()
        }
    }

    /// `count` tokens of real text (the GPL), longer than Gemma's 512-token sliding window.
    static func prompt(_ engine: Engine, count: Int) throws -> [Int32] {
        let text = try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8)
        return Array(engine.encode(text).prefix(count))
    }
}

private func greedy(_ n: Int) -> GenerationOptions {
    var o = GenerationOptions(maxTokens: n, sampling: .greedy)
    o.stopAtEndOfGeneration = false
    o.batchSize = 256
    return o
}

private func tempFile(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("rdic-session-\(name)-\(getpid()).safetensors")
}

@Suite(.serialized, .computeBound) struct SessionPersistenceTests {
    /// Prefill a prompt longer than Gemma's window, save, restore, and continue: the restored
    /// session generates the same tokens as the original continuing without the round trip.
    @Test(arguments: [TestModels.Name.gemma3, .smollm2],
          [KVStorage.f16, .q8_0, KVStorage(key: .q8_0, value: .q4_0, rotation: true), .q4])
    func restoreEqualsContinue(_ name: TestModels.Name, _ kv: KVStorage) throws {
        let engine = try SessionEngines.engine(name)
        let prompt = try SessionEngines.prompt(engine, count: 700)
        let original = engine.makeSession(contextLength: 2048, kv: kv)
        let first = try original.run(prompt: prompt, options: greedy(1)) { _ in }.outputIds
        let url = tempFile("continue-\(name)-\(kv)")
        defer { try? FileManager.default.removeItem(at: url) }
        try original.save(to: url)

        let restored = try engine.restoreSession(from: url.path)
        #expect(restored.tokens == prompt)
        #expect(restored.cache.configuration.storage == kv)
        if name == .gemma3 {
            // Sliding layers saved only their window: the file holds fewer rows than tokens.
            #expect(restored.cache.storedTokens(layer: 0).count < prompt.count)
        }
        #expect(restored.cache.count == original.cache.count)
        #expect(restored.cache.nextPosition == original.cache.nextPosition)

        let next = prompt + first
        let a = try original.run(prompt: next, options: greedy(12)) { _ in }
        let b = try restored.run(prompt: next, options: greedy(12)) { _ in }
        #expect(b.reusedPromptTokens == prompt.count, "restore must not re-prefill the history")
        #expect(a.outputIds == b.outputIds)
        #expect(a.outputIds.count == 12)
    }

    /// A 4,096-token q4 session saved and restored continues with the tokens the original
    /// continues with, from a file under 0.3x the f16 session's (its centering offsets included).
    @Test func longQ4SessionRoundTrip() throws {
        let engine = try SessionEngines.engine(.smollm2)
        let prompt = try SessionEngines.prompt(engine, count: 4096)
        try #require(prompt.count == 4096)
        var sizes: [Int] = []
        for kv in [KVStorage.f16, .q4] {
            let original = engine.makeSession(contextLength: 8192, kv: kv)
            let first = try original.run(prompt: prompt, options: greedy(1)) { _ in }.outputIds
            let url = tempFile("long-\(kv)")
            defer { try? FileManager.default.removeItem(at: url) }
            try original.save(to: url)
            sizes.append(try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int))
            guard kv == .q4 else { continue }
            let restored = try engine.restoreSession(from: url.path)
            #expect(restored.cache.rowOffsets == original.cache.rowOffsets)
            #expect(restored.cache.rowOffsets.allSatisfy { $0 != nil })
            let next = prompt + first
            let a = try original.run(prompt: next, options: greedy(16)) { _ in }
            let b = try restored.run(prompt: next, options: greedy(16)) { _ in }
            #expect(b.reusedPromptTokens == prompt.count, "restore must not re-prefill the history")
            #expect(a.outputIds == b.outputIds)
            #expect(a.outputIds.count == 16)
        }
        #expect(Double(sizes[1]) <= 0.3 * Double(sizes[0]), "q4 file \(sizes[1]) bytes, f16 \(sizes[0])")
    }

    /// Two forks of one prefix diverge independently; each matches a fresh session fed the
    /// same tokens, and the prefix blocks are held once. On Gemma the prefix is longer than the
    /// sliding window, so the forks' sliding layers also drop shared blocks as they go on.
    @Test(arguments: [(TestModels.Name.smollm2, 300), (.gemma3, 700)])
    func forksShareThePrefixAndStayIndependent(_ name: TestModels.Name, _ prefixLength: Int) throws {
        let engine = try SessionEngines.engine(name)
        let prefix = try SessionEngines.prompt(engine, count: prefixLength)
        let parent = engine.makeSession(contextLength: 2048)
        _ = try parent.run(prompt: prefix, options: greedy(1)) { _ in }
        let single = parent.cache.bytesAllocated
        let forkA = parent.fork(), forkB = parent.fork()
        #expect(SequenceKVCache.distinctBytes([parent.cache, forkA.cache, forkB.cache]) == single)

        let suffixA = engine.tokenizer.encode(" In summary, the license", addBOS: false, parseSpecial: false)
        let suffixB = engine.tokenizer.encode(" Translated into French:", addBOS: false, parseSpecial: false)
        let outA = try forkA.run(prompt: prefix + suffixA, options: greedy(8)) { _ in }.outputIds
        let outB = try forkB.run(prompt: prefix + suffixB, options: greedy(8)) { _ in }.outputIds

        // Writing diverged only the tail block; the rest is still shared.
        let together = SequenceKVCache.distinctBytes([parent.cache, forkA.cache, forkB.cache])
        #expect(together < single + forkA.cache.bytesAllocated + forkB.cache.bytesAllocated)
        #expect(together < 2 * single)

        for (suffix, out) in [(suffixA, outA), (suffixB, outB)] {
            let fresh = engine.makeSession(contextLength: 2048)
            _ = try fresh.run(prompt: prefix, options: greedy(1)) { _ in }
            let expected = try fresh.run(prompt: prefix + suffix, options: greedy(8)) { _ in }.outputIds
            #expect(out == expected)
        }
        #expect(outA != outB)
        // The parent is untouched by its forks' writes.
        let again = try parent.run(prompt: prefix + suffixA, options: greedy(8)) { _ in }.outputIds
        #expect(again == outA)
    }

    /// Damaged, foreign and future files are refused with the matching error.
    @Test func tamperedFilesAreRefused() throws {
        let engine = try SessionEngines.engine(.smollm2)
        let session = engine.makeSession(contextLength: 2048)
        _ = try session.run(prompt: try SessionEngines.prompt(engine, count: 100), options: greedy(1)) { _ in }
        let url = tempFile("tamper")
        defer { try? FileManager.default.removeItem(at: url) }
        try session.save(to: url)
        let good = try Data(contentsOf: url)
        let bad = tempFile("tamper-bad")
        defer { try? FileManager.default.removeItem(at: bad) }

        func refusal(_ bytes: Data) -> SessionFileError? {
            try? bytes.write(to: bad)
            do { _ = try engine.restoreSession(from: bad.path); return nil } catch { return error as? SessionFileError }
        }
        guard case .unreadable = refusal(good.prefix(good.count - 1000)) else { Issue.record("truncated accepted"); return }
        var flipped = good
        flipped[good.count - 5000] ^= 0x10
        guard case .checksumMismatch = refusal(flipped) else { Issue.record("bit flip accepted"); return }
        // A damaged header value that also breaks the layers (block size 64 -> 34) still reports
        // the checksum: it is checked before what it protects, though both run together.
        let blockTokens = try #require(good.range(of: Data("\"block_tokens\":\"64\"".utf8)))
        var resized = good
        resized[blockTokens.upperBound - 3] = UInt8(ascii: "3")
        guard case .checksumMismatch = refusal(resized) else { Issue.record("damaged header not reported as such"); return }

        // Another model: the same file re-labelled with another fingerprint (checksum fixed up,
        // so only the fingerprint check can catch it).
        try SessionFile.write(cache: session.cache, tokens: session.tokens, fingerprint: "0123456789abcdef", to: bad)
        do { _ = try engine.restoreSession(from: bad.path); Issue.record("wrong model accepted") } catch SessionFileError.wrongModel {}
        // A Gemma session into SmolLM.
        let gemma = try SessionEngines.engine(.gemma3)
        let g = gemma.makeSession(contextLength: 2048)
        _ = try g.run(prompt: [2, 651, 1234], options: greedy(1)) { _ in }
        try g.save(to: bad)
        do { _ = try engine.restoreSession(from: bad.path); Issue.record("gemma session accepted") } catch SessionFileError.wrongModel {}

        // Another format version.
        let needle = Data("\"format_version\":\"\(SessionFile.formatVersion)\"".utf8)
        let at = try #require(good.range(of: needle))
        var future = good
        future[at.upperBound - 2] = UInt8(ascii: "9")
        guard case .unsupportedVersion = refusal(future) else { Issue.record("version 9 accepted"); return }

        // The untouched file still loads.
        #expect(refusal(good) == nil)
    }
}
