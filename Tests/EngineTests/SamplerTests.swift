@testable import Engine
import Testing

@Suite struct SamplerTests {
    func sample(_ logits: [Float], _ p: SamplingParameters, history: [Int32] = [], times: Int = 1) -> [Int32] {
        var sampler = Sampler(p)
        return (0..<times).map { _ in
            var l = logits
            return l.withUnsafeMutableBufferPointer { sampler.sample($0, history: history) }
        }
    }

    @Test func greedyTakesTheArgmax() {
        #expect(sample([0.1, 3, 2.9, -1], .greedy) == [1])
    }

    /// The vector arg-max picks what the one-at-a-time definition picks: the first of tied
    /// maxima (also +0 against -0), never a NaN, 0 when nothing beats -inf, at any length.
    @Test func argmaxMatchesTheScalarDefinition() {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<400 {
            let n = [1, 7, 63, 64, 65, 1000, 262_144][trial % 7]
            var x = (0..<n).map { _ in Float(Int(rng.next() % 41) - 20) / 4 }
            for _ in 0..<(trial % 5) {
                let i = Int(rng.next() % UInt64(n))
                x[i] = [Float.nan, -.infinity, 0, -0.0, 5, 5][Int(rng.next() % 6)]
            }
            if trial % 11 == 0 { x = x.map { _ in [Float.nan, -.infinity][Int(rng.next() % 2)] } }
            if trial % 13 == 0 { x = x.map { _ in [Float(0), -0.0][Int(rng.next() % 2)] } }
            let expected = x.withUnsafeBufferPointer { argmaxScalar($0) }
            #expect(x.withUnsafeMutableBufferPointer { argmax($0) } == expected, "trial \(trial), n \(n)")
        }
    }

    @Test func sameSeedSameDraws() {
        let logits: [Float] = (0..<50).map { Float($0 % 7) * 0.3 }
        var p = SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 42)
        let a = sample(logits, p, times: 40)
        let b = sample(logits, p, times: 40)
        #expect(a == b)
        p.seed = 43
        #expect(sample(logits, p, times: 40) != a)
    }

    @Test func topKAndMinPRestrictTheCandidates() {
        let logits: [Float] = [5, 4.9, 4.8, 0, 0, 0, 0, 0]
        let k2 = Set(sample(logits, SamplingParameters(temperature: 5, topK: 2, topP: 1, minP: 0, seed: 1), times: 200))
        #expect(k2 == [0, 1])
        let minP = Set(sample(logits, SamplingParameters(temperature: 5, topK: 0, topP: 1, minP: 0.5, seed: 1), times: 200))
        #expect(minP == [0, 1, 2])
    }

    @Test func topPKeepsTheSmallestSufficientSet() {
        // Probabilities ~ 0.64, 0.24, 0.09, ...: top-p 0.8 keeps the first two.
        let logits: [Float] = [3, 2, 1, 0, -1]
        let s = Set(sample(logits, SamplingParameters(temperature: 1, topK: 0, topP: 0.8, minP: 0, seed: 7), times: 300))
        #expect(s == [0, 1])
    }

    @Test func penaltiesPushSeenTokensDown() {
        let logits: [Float] = [2, 1.9, 0]
        #expect(sample(logits, SamplingParameters(temperature: 0, repetitionPenalty: 1.2), history: [0]) == [1])
        #expect(sample(logits, SamplingParameters(temperature: 0, presencePenalty: 0.5), history: [0]) == [1])
        #expect(sample(logits, .greedy, history: [0]) == [0])
    }

    @Test func topLogprobsAreNormalized() {
        let lp = [Float](arrayLiteral: 1, 2, 3).withUnsafeBufferPointer { topLogprobs($0, k: 2) }
        #expect(lp.map(\.id) == [2, 1])
        let total = log(exp(1.0) + exp(2.0) + exp(3.0))
        #expect(abs(Double(lp[0].logprob) - (3 - total)) < 1e-5)
    }

    @Test func stopStringsAreHeldBackAndCut() {
        var f = StopStringFilter(["</end>"])
        #expect(f.push("Hello <") == ("Hello ", false))
        #expect(f.push("/en") == ("", false))
        #expect(f.push("d> more") == ("", true))
        var g = StopStringFilter(["STOP"])
        let (a, s1) = g.push("abc ST")
        let (b, s2) = g.push("OP tail")
        #expect(a == "abc " && !s1 && b == "" && s2)
        var h = StopStringFilter(["xyz"])
        #expect(h.push("ab x") == ("ab ", false))
        #expect(h.push("q") == ("xq", false))
    }
}

import Foundation
