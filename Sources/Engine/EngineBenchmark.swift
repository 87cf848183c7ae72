import Foundation
import KVCache
import Models

/// One benchmark test in llama-bench's terms: prefill `prompt` tokens and/or generate `gen`
/// tokens, after a context of `depth` tokens that is filled untimed.
public struct BenchTest: Sendable, Equatable {
    public var prompt: Int
    public var gen: Int
    public var depth: Int

    public init(prompt: Int, gen: Int, depth: Int) {
        self.prompt = prompt
        self.gen = gen
        self.depth = depth
    }

    /// llama-bench's name: `pp512`, `tg128`, `pp512+tg128`, with ` @ d2048` for a depth.
    public var name: String {
        var parts: [String] = []
        if prompt > 0 { parts.append("pp\(prompt)") }
        if gen > 0 { parts.append("tg\(gen)") }
        return parts.joined(separator: "+") + (depth > 0 ? " @ d\(depth)" : "")
    }

    /// The tests llama-bench runs for these lists: one prefill test per `-p` value, one
    /// generation test per `-n` value (zeros skipped), each at every `-d` depth.
    public static func matrix(prompts: [Int], gens: [Int], depths: [Int]) -> [BenchTest] {
        var tests: [BenchTest] = []
        for d in depths {
            for p in prompts where p > 0 { tests.append(BenchTest(prompt: p, gen: 0, depth: d)) }
            for g in gens where g > 0 { tests.append(BenchTest(prompt: 0, gen: g, depth: d)) }
        }
        return tests
    }
}

/// Timings of one test over its repetitions, summarized as llama-bench does: tokens/s of each
/// repetition is (prompt + gen) / seconds; the mean and the sample standard deviation of those.
public struct BenchResult: Sendable {
    public let test: BenchTest
    public let threads: Int
    public let samplesNs: [UInt64]
    /// Peak resident set of the process after this test, in bytes.
    public let peakRSS: Int

    public init(test: BenchTest, threads: Int, samplesNs: [UInt64], peakRSS: Int) {
        self.test = test
        self.threads = threads
        self.samplesNs = samplesNs
        self.peakRSS = peakRSS
    }

    public var tokens: Int { test.prompt + test.gen }
    public var samplesTs: [Double] { samplesNs.map { Double(tokens) * 1e9 / Double(max($0, 1)) } }
    public var avgNs: Double { Self.mean(samplesNs.map(Double.init)) }
    public var stddevNs: Double { Self.stddev(samplesNs.map(Double.init)) }
    public var avgTs: Double { Self.mean(samplesTs) }
    public var stddevTs: Double { Self.stddev(samplesTs) }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }

    /// Sample standard deviation (n - 1), 0 for fewer than two samples, as llama-bench.
    static func stddev(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return 0 }
        let m = mean(xs)
        return (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
    }
}

/// Runs llama-bench's tests on a loaded model (what `rdic bench` prints).
///
/// The same procedure as llama-bench: before each repetition the cache is cleared or, for a
/// depth, holds `depth` tokens filled untimed; a prefill test then decodes `prompt` random
/// tokens in batches of `batchSize`, computing logits of the last one; a generation test
/// decodes `gen` tokens one at a time, computing the full logits of each. One untimed warm-up
/// run (a prefill of the prompt, one generated token) comes first.
public final class EngineBenchmark {
    public let model: Transformer
    public let batchSize: Int
    public let kv: KVStorage
    private var rng: UInt64 = 0x2545_F491_4F6C_DD1D
    private let logits: UnsafeMutablePointer<Float>
    private let hidden: UnsafeMutablePointer<Float>

    public init(model: Transformer, batchSize: Int = 512, kv: KVStorage = .f16) {
        self.model = model
        self.batchSize = max(1, batchSize)
        self.kv = kv
        logits = .allocate(capacity: model.hyperparameters.vocabularySize)
        hidden = .allocate(capacity: model.hyperparameters.embeddingLength)
    }

    deinit {
        logits.deallocate()
        hidden.deallocate()
    }

    /// A pseudo-random token id (llama-bench draws them from `rand() % n_vocab`).
    private func randomToken() -> Int32 {
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return Int32(truncatingIfNeeded: rng % UInt64(model.hyperparameters.vocabularySize))
    }

    private func prefill(_ n: Int, cache: SequenceKVCache) throws {
        var done = 0
        while done < n {
            let m = min(batchSize, n - done)
            let tokens = (0..<m).map { _ in randomToken() }
            let last = done + m == n
            let hidden = try model.forward(tokens: tokens, cache: cache, outputRows: last ? (m - 1)..<m : 0..<0)
            if last { hidden.withUnsafeBufferPointer { model.logits(hidden: $0.baseAddress!, rows: 1, into: logits) } }
            done += m
        }
    }

    private func generate(_ n: Int, cache: SequenceKVCache) throws {
        var token = randomToken()
        for _ in 0..<n {
            try model.decode(token: token, cache: cache, into: hidden)
            model.logits(hidden: hidden, rows: 1, into: logits)
            token = randomToken()
        }
    }

    /// Runs `test` `repetitions` times (after one warm-up) and returns its timings.
    public func run(_ test: BenchTest, repetitions: Int) throws -> BenchResult {
        // Sized as llama-bench sizes its context (depth + prompt + generated), even past the
        // model's trained length: `-n 128 -d 32768` must run on a 32K model.
        let cache = SequenceKVCache(configuration: model.cacheConfiguration(
            contextLength: test.depth + test.prompt + test.gen + 1, storage: kv))
        // Warm-up, untimed: pages the weights in and sizes every buffer.
        if test.prompt > 0 { try prefill(test.prompt, cache: cache) }
        if test.gen > 0 { try generate(1, cache: cache) }
        // The depth is filled once; each repetition runs on a copy-on-write fork of it (the
        // same state every time, as llama-bench restores a saved one; empty without a depth).
        cache.clear()
        if test.depth > 0 { try prefill(test.depth, cache: cache) }
        var samples: [UInt64] = []
        for _ in 0..<max(1, repetitions) {
            let run = cache.fork()
            let start = DispatchTime.now().uptimeNanoseconds
            if test.prompt > 0 { try prefill(test.prompt, cache: run) }
            if test.gen > 0 { try generate(test.gen, cache: run) }
            samples.append(DispatchTime.now().uptimeNanoseconds - start)
        }
        return BenchResult(test: test, threads: model.pool.threadCount, samplesNs: samples, peakRSS: ProcessMemory.peakResident)
    }
}
