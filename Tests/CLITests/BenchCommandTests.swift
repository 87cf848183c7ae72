import Foundation
import TestSupport
import Testing

/// `rdic bench` on the real SmolLM2 model with tiny tests: the JSON has llama-bench's field
/// names and one object per test, and the figures are consistent with each other.
@Suite(.computeBound) struct BenchCommandTests {
    @Test func jsonHasLlamaBenchFields() throws {
        let model = try TestModels.path(for: .smollm2)
        let r = try RDICBinary.run(["bench", "-m", model, "-p", "16", "-n", "4", "-d", "0,8", "-r", "2",
                                    "-t", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        // -p and -n give one test each, at each of the two depths, in llama-bench's order.
        #expect(list.count == 4)
        let shapes = list.map { [$0["n_prompt"] as? Int, $0["n_gen"] as? Int, $0["n_depth"] as? Int] }
        #expect(shapes == [[16, 0, 0], [0, 4, 0], [16, 0, 8], [0, 4, 8]])
        for o in list {
            #expect(o["n_threads"] as? Int == 2)
            #expect(o["type_k"] as? String == "f16")
            let samples = try #require(o["samples_ts"] as? [Double])
            #expect(samples.count == 2)
            let avg = try #require(o["avg_ts"] as? Double)
            #expect(avg > 0 && abs(avg - samples.reduce(0, +) / 2) < 1e-3 * avg)
            let sd = try #require(o["stddev_ts"] as? Double)
            let expected = abs(samples[0] - samples[1]) / 2.0.squareRoot()
            #expect(abs(sd - expected) <= 1e-3 * max(expected, 1))
            #expect((o["peak_rss_bytes"] as? Int ?? 0) > 92 << 20)  // at least the mapped weights
            #expect((o["model_n_params"] as? Int ?? 0) > 130_000_000)
        }
    }

    @Test func tableAndErrors() throws {
        let model = try TestModels.path(for: .smollm2)
        let r = try RDICBinary.run(["bench", "-m", model, "-p", "8", "-n", "0", "-r", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("| pp8 |"))
        #expect(r.stdout.contains("peak RSS:"))
        let bad = try RDICBinary.run(["bench", "-m", model, "-p", "x"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("-p takes non-negative integers"))
    }
}
