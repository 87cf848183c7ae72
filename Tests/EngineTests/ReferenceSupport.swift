import Foundation
import KVCache
import Models
import TestSupport

/// Models loaded once for the whole suite (loading maps the file; the pool has 2 threads).
enum Loaded {
    static let gemma = Result { try Transformer(path: TestModels.path(for: .gemma3), threads: 2) }
    static let smollm = Result { try Transformer(path: TestModels.path(for: .smollm2), threads: 2) }

    /// Separate instances whose default is `Numerics.llamaCpp`.
    static let gemmaLlamaCpp = Result { try llamaCpp(.gemma3) }
    static let smollmLlamaCpp = Result { try llamaCpp(.smollm2) }

    static func model(_ name: TestModels.Name, numerics: Numerics = .fast) throws -> Transformer {
        switch (name, numerics) {
        case (.gemma3, .fast): try gemma.get()
        case (.smollm2, .fast): try smollm.get()
        case (.gemma3, .llamaCpp): try gemmaLlamaCpp.get()
        case (.smollm2, .llamaCpp): try smollmLlamaCpp.get()
        }
    }

    private static func llamaCpp(_ name: TestModels.Name) throws -> Transformer {
        try Transformer(path: TestModels.path(for: name), threads: 2, numerics: .llamaCpp)
    }
}

/// One reference step of llama.cpp's greedy run: the chosen id and the top-10 log-probs.
struct ReferenceStep {
    let id: Int32
    let top: [(id: Int32, logprob: Double)]
    var gap: Double { top.count > 1 ? top[0].logprob - top[1].logprob : .infinity }
}

struct ReferencePrompt {
    let name: String
    let promptIds: [Int32]
    let outputIds: [Int32]
    let steps: [ReferenceStep]

    static func load(_ relative: String) throws -> [ReferencePrompt] {
        try Fixtures.jsonLines(relative).map { row in
            let steps = (row["steps"] as! [[String: Any]]).map { s in
                ReferenceStep(id: Int32(s["id"] as! Int),
                              top: (s["top10"] as! [[Any]]).map { (Int32($0[0] as! Int), ($0[1] as! NSNumber).doubleValue) })
            }
            return ReferencePrompt(name: row["name"] as! String,
                                   promptIds: (row["prompt_ids"] as! [Int]).map(Int32.init),
                                   outputIds: (row["output_ids"] as! [Int]).map(Int32.init), steps: steps)
        }
    }
}

/// Log-softmax of one row of logits, in double.
func logSoftmax(_ logits: UnsafeBufferPointer<Float>) -> [Double] {
    let m = Double(logits.max()!)
    var sum = 0.0
    for x in logits { sum += exp(Double(x) - m) }
    let lse = m + log(sum)
    return logits.map { Double($0) - lse }
}

func topK(_ lp: [Double], _ k: Int) -> [(id: Int32, logprob: Double)] {
    var best: [(Int32, Double)] = []
    for (i, v) in lp.enumerated() where best.count < k || v > best[best.count - 1].1 {
        best.append((Int32(i), v))
        best.sort { $0.1 > $1.1 }
        if best.count > k { best.removeLast() }
    }
    return best.map { (id: $0.0, logprob: $0.1) }
}

/// The result of replaying one reference prompt greedily.
struct GreedyComparison: CustomStringConvertible {
    var name: String
    /// Steps checked (those before the first reference near-tie).
    var checkedSteps = 0
    var top1Matches = 0
    var minOverlap = 10
    var stepsWithOverlap8 = 0
    var worstMeanAbsDelta = 0.0
    var sumMeanAbsDelta = 0.0
    /// Steps where our greedy id equals the reference's (until the first divergence).
    var idsMatched = 0
    /// Step at which the reference had its first near-tie (nil: none).
    var nearTieStep: Int?
    /// First step where our id differs from the reference's.
    var divergedAt: Int?

    var passes: Bool {
        top1Matches == checkedSteps && minOverlap >= 8 && worstMeanAbsDelta <= 0.15
    }

    /// Our greedy ids equal the reference's at least until its first near-tie.
    var matchesUpToNearTie: Bool {
        divergedAt.map { $0 >= (nearTieStep ?? 32) } ?? true
    }

    var description: String {
        "\(name): checked \(checkedSteps) steps, top-1 \(top1Matches)/\(checkedSteps), min top-10 overlap \(minOverlap), "
            + "mean|dlp| avg \(String(format: "%.4f", checkedSteps > 0 ? sumMeanAbsDelta / Double(checkedSteps) : 0)) "
            + "worst \(String(format: "%.4f", worstMeanAbsDelta)), ids equal \(idsMatched)/32, "
            + "near-tie at \(nearTieStep.map(String.init) ?? "-"), diverged at \(divergedAt.map(String.init) ?? "-")"
    }
}

/// `range` cut into llama.cpp's micro-batches of at most 512 tokens.
func ubatches(_ range: Range<Int>) -> [Range<Int>] {
    stride(from: range.lowerBound, to: range.upperBound, by: 512).map { $0..<min($0 + 512, range.upperBound) }
}

/// How llama-server, which made the fixtures, fed a prompt of `n` tokens to a model with a
/// sliding-window cache (Gemma 3): it processes the last 4 tokens, and the 512 before them, as
/// batches of their own so that it can checkpoint the cache there (server-context.cpp,
/// `checkpoint_offsets`). The batch sizes matter: llama.cpp's repacked Q4_K kernels sum the
/// rows of a batch's groups of four differently from the rest (see `ByteDot`).
func serverBatches(_ n: Int) -> [Range<Int>] {
    let cuts = [0] + [n - 516, n - 4].filter { $0 > 0 } + [n]
    return zip(cuts, cuts.dropFirst()).flatMap { ubatches($0..<$1) }
}

/// Replays a reference prompt: prefill the prompt ids, then generate greedily, comparing each
/// step's distribution with llama.cpp's until the reference's first near-tie (gap < 0.2 nats).
/// Generation follows the reference's ids; it stops at a differing id past the near-tie.
func compareGreedy(_ model: Transformer, _ ref: ReferencePrompt, kv: KVElementType,
                   batches: [Range<Int>]? = nil) throws -> GreedyComparison {
    let cache = model.makeCache(contextLength: 4096, storage: KVStorage(kv))
    let vocab = model.hyperparameters.vocabularySize
    var result = GreedyComparison(name: ref.name)
    var hidden: [Float] = []
    for range in batches ?? ubatches(0..<ref.promptIds.count) {
        let chunk = Array(ref.promptIds[range])
        hidden = try model.forward(tokens: chunk, cache: cache, outputRows: (chunk.count - 1)..<chunk.count)
    }
    var checking = true
    for (step, r) in ref.steps.enumerated() {
        let logits = model.logits(hidden: hidden)
        let lp = logits.withUnsafeBufferPointer { logSoftmax(UnsafeBufferPointer(rebasing: $0[0..<vocab])) }
        let ours = topK(lp, 10)
        if checking && r.gap < 0.2 {
            checking = false
            result.nearTieStep = step
        }
        if checking {
            result.checkedSteps += 1
            if ours[0].id == r.top[0].id { result.top1Matches += 1 }
            let ourIds = Set(ours.map(\.id))
            let shared = r.top.filter { ourIds.contains($0.id) }
            result.minOverlap = min(result.minOverlap, shared.count)
            if shared.count >= 8 { result.stepsWithOverlap8 += 1 }
            let mad = shared.map { abs(lp[Int($0.id)] - $0.logprob) }.reduce(0, +) / Double(max(shared.count, 1))
            result.worstMeanAbsDelta = max(result.worstMeanAbsDelta, mad)
            result.sumMeanAbsDelta += mad
        }
        if ours[0].id != r.id {
            if result.divergedAt == nil { result.divergedAt = step }
            // Past the near-tie a split is expected: stop. Before it, keep comparing on the
            // reference's path (teacher forcing) so the later steps are still checked.
            if !checking { break }
        } else if result.divergedAt == nil {
            result.idsMatched += 1
        }
        hidden = try model.forward(tokens: [r.id], cache: cache, outputRows: 0..<1)
    }
    return result
}
