import Engine
import Foundation
import Models
import Testing
import TestSupport

/// `EngineBenchmark` (what `rdic bench` runs) from Swift: llama-bench's test matrix, names and
/// statistics, and one timing per repetition on a real model, with and without a depth.
@Suite(.computeBound) struct EngineBenchmarkTests {
    @Test func theMatrixIsLlamaBenchs() {
        let tests = BenchTest.matrix(prompts: [0, 8], gens: [2, 0], depths: [0, 16])
        #expect(tests.map(\.name) == ["pp8", "tg2", "pp8 @ d16", "tg2 @ d16"])
        #expect(BenchTest(prompt: 512, gen: 128, depth: 0).name == "pp512+tg128")
    }

    @Test func everyRepetitionIsTimed() throws {
        let model = try Loaded.model(.smollm2)
        let bench = EngineBenchmark(model: model, batchSize: 8)
        for test in BenchTest.matrix(prompts: [12], gens: [3], depths: [0, 40]) {
            let result = try bench.run(test, repetitions: 3)
            #expect(result.samplesNs.count == 3)
            #expect(result.samplesNs.allSatisfy { $0 > 0 })
            #expect(result.avgTs > 0 && result.tokens == test.prompt + test.gen)
            #expect(result.threads == model.pool.threadCount)
            #expect(result.peakRSS >= ProcessMemory.resident / 2 && result.peakRSS > 0)
        }
    }

    @Test func meanAndDeviationAreLlamaBenchs() {
        // Two repetitions of 8 tokens in 1 s and 2 s: 8 and 4 t/s, mean 6, sample deviation √8.
        let r = BenchResult(test: BenchTest(prompt: 8, gen: 0, depth: 0), threads: 1,
                            samplesNs: [1_000_000_000, 2_000_000_000], peakRSS: 1)
        #expect(r.samplesTs == [8, 4])
        #expect(r.avgTs == 6)
        #expect(abs(r.stddevTs - 8.0.squareRoot()) < 1e-12)
    }
}

/// `Engine.benchmarkRestore` (what `rdic session bench` prints) on a real model.
@Suite(.computeBound) struct SessionRestoreBenchmarkTests {
    @Test func aRestoredSessionGivesThePrefilledFirstToken() throws {
        let engine = try GenerationTests.engine.get()
        let r = try engine.benchmarkRestore(tokens: 200, contextLength: 256)
        #expect(r.tokens == 200 && r.sameFirstToken)
        #expect(r.fileBytes > 200 * 64 && r.fullBytesPerToken > 0)
        #expect(r.saveSeconds > 0 && r.prefillSeconds > 0 && r.restoreSeconds > 0)
    }
}
