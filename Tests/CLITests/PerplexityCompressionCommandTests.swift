import Foundation
import TestSupport
import Testing

/// `rdic perplexity --kv-policy` as the built binary: a compressed run reports its policy and
/// budget; a bad policy or contradictory options are clear errors.
@Suite(.computeBound) struct PerplexityCompressionCommandTests {
    let env = ["RDIC_HOME": FileManager.default.temporaryDirectory.appendingPathComponent("rdic-pplkv-\(UUID().uuidString)").path]

    @Test func compressedRunReportsPolicyAndBudget() throws {
        let smollm = try TestModels.path(for: .smollm2)
        let text = Fixtures.url("texts/GPL-3.txt").path
        let run = try RDICBinary.run(["perplexity", "--model", smollm, "--file", text, "--ctx", "128", "--chunks", "1",
                                      "--kv-policy", "streaming", "--kv-budget", "64", "--kv-step", "16"], environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("kv policy streaming(sinks: 4), budget 64 tokens, step 16"))
        #expect(run.stdout.contains("Final estimate: PPL = "))
    }

    /// `--ctx 32768` equals the engine's default context and once fell back to 512. GPL-3
    /// holds fewer than 32768 tokens, so the run stops at a clear error after naming its ctx.
    @Test func contextOfThirtyTwoKIsHonoured() throws {
        let smollm = try TestModels.path(for: .smollm2)
        let text = Fixtures.url("texts/GPL-3.txt").path
        let run = try RDICBinary.run(["perplexity", "--model", smollm, "--file", text, "--ctx", "32768"], environment: env)
        #expect(run.stdout.contains("ctx 32768, 0 chunks"), "\(run.stdout)")
        #expect(run.status != 0)
        let byDefault = try RDICBinary.run(["perplexity", "--model", smollm, "--file", text, "--chunks", "1"], environment: env)
        #expect(byDefault.stdout.contains("ctx 512, "), "\(byDefault.stdout)")
    }

    @Test func badPolicyOptionsAreErrors() throws {
        let smollm = try TestModels.path(for: .smollm2)
        let text = Fixtures.url("texts/GPL-3.txt").path
        let unknown = try RDICBinary.run(["perplexity", "--model", smollm, "--file", text, "--kv-policy", "lru"], environment: env)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown KV policy 'lru'"))
        let both = try RDICBinary.run(["perplexity", "--model", smollm, "--file", text, "--kv-policy", "h2o",
                                       "--kv-keep", "0.5", "--kv-budget", "64"], environment: env)
        #expect(both.status != 0)
        #expect(both.stderr.contains("not both"))
    }

    /// A text file that is missing or a folder is named with the reason, before any model loads.
    @Test func unreadableTextIsAnError() throws {
        let folder = FileManager.default.temporaryDirectory.path
        for (file, reason) in [(folder + "/rdic-no-such-\(UUID().uuidString).txt", "no such file"), (folder, "it is a folder")] {
            let run = try RDICBinary.run(["perplexity", "--model", "/nonexistent/model.gguf", "--file", file], environment: env)
            #expect(run.status == 1 && run.stderr.contains("cannot read \(file): \(reason)"), "\(run.stderr)")
        }
    }
}
