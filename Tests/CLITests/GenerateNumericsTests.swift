import Foundation
import TestSupport
import Testing

/// `rdic generate --numerics llama-cpp` end to end on a SmolLM2 reference prompt: the first
/// step's top-10 log-probabilities are llama.cpp's (to 1e-3; the fixture's own rounding of its
/// log-softmax is ~1e-4), and a bad value is refused with the choices.
@Suite(.computeBound) struct GenerateNumericsTests {
    @Test func llamaCppNumericsGiveLlamaCppLogProbs() throws {
        #if arch(x86_64)
        let model = try TestModels.path(for: .smollm2)
        let ref = try #require(try Fixtures.jsonLines("smollm2-135m/greedy.jsonl").first)
        let prompt = try #require(ref["prompt"] as? String)
        let steps = try #require(ref["steps"] as? [[String: Any]])
        let expected = try #require(steps.first?["top10"] as? [[Any]]).map {
            (id: $0[0] as! Int, logprob: ($0[1] as! NSNumber).doubleValue)
        }
        let r = try RDICBinary.run(["generate", "--model", model, "--prompt", prompt, "--max-tokens", "1",
                                    "--temperature", "0", "--logprobs", "10", "--json", "--threads", "2",
                                    "--numerics", "llama-cpp"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let top = try #require((json["logprobs"] as? [[[String: Any]]])?.first)
        #expect(top.map { $0["id"] as? Int } == expected.map(\.id))
        for (ours, theirs) in zip(top, expected) {
            let lp = try #require((ours["logprob"] as? NSNumber)?.doubleValue)
            #expect(abs(lp - theirs.logprob) < 1e-3, "id \(theirs.id): \(lp) vs llama.cpp \(theirs.logprob)")
        }
        #endif
    }

    @Test func badNumericsIsRefused() throws {
        let model = try TestModels.path(for: .smollm2)
        let r = try RDICBinary.run(["generate", "--model", model, "--prompt", "Hi", "--numerics", "exactish"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("fast") && r.stderr.contains("llama-cpp"), "\(r.stderr)")
    }
}
