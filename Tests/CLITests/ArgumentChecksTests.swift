import Foundation
import TestSupport
import Testing

/// Commands refuse arguments they cannot work with before any model loads: the model path
/// given does not exist, so a command that got as far as loading would fail another way.
@Suite struct ArgumentChecksTests {
    static let ask = ["agents", "ask", "a1", "hi", "--dir", "/nonexistent/agents"]
    static let generate = ["generate", "--prompt", "hi"]

    @Test(arguments: [
        // Engine and sampling options shared by run, chat, generate and agents ask.
        (generate + ["--ctx", "0"], "--ctx must be at least 1"),
        (ask + ["--ctx", "0"], "--ctx must be at least 1"),
        (generate + ["--threads", "0"], "--threads must be at least 1"),
        (generate + ["--temperature=-1"], "--temperature must not be negative"),
        (ask + ["--temperature=-1"], "--temperature must not be negative"),
        (generate + ["--top-p", "2"], "--top-p must be in (0, 1]"),
        (generate + ["--top-p", "0"], "--top-p must be in (0, 1]"),
        (generate + ["--min-p", "1.5"], "--min-p must be in [0, 1]"),
        (generate + ["--top-k=-2"], "--top-k must not be negative"),
        (generate + ["--repeat-penalty", "0"], "--repeat-penalty must be positive"),
        (ask + ["--max-tokens", "0"], "--max-tokens must be at least 1"),
        (["run", "hi", "--max-tokens", "0"], "--max-tokens must be at least 1"),
        (["chat", "--max-tokens", "0"], "--max-tokens must be at least 1"),
        // rdic serve.
        (["serve", "--port", "99999"], "--port must be 0 (any free port) to 65535, got 99999"),
        (["serve", "--parallel", "0"], "--parallel must be at least 1"),
        (["serve", "--queue-limit=-1"], "--queue-limit must not be negative"),
        (["serve", "--threads", "0"], "--threads must be at least 1"),
        (["serve", "--ctx", "0"], "--ctx must be at least 1"),
        (["serve", "--max-body", "0"], "--max-body must be at least 1 byte"),
        (["serve", "--cache-budget", "lots"], "--cache-budget: cannot read 'lots'"),
        // rdic bench-agents.
        (["bench-agents", "--new", "0"], "--new must be at least 1"),
        (["bench-agents", "--history=-1"], "--history must not be negative"),
        (["bench-agents", "--agents", "4,abc"], "--agents takes counts of 2 or more, comma-separated (got 'abc')"),
        (["bench-agents", "--agents", "1"], "--agents takes counts of 2 or more, comma-separated (got '1')"),
        (["bench-agents", "--tests", "warm,speed"], "unknown test 'speed' (known: throughput, warm, budget)"),
        (["bench-agents", "--budget-agents", "0"], "--budget-agents must be at least 1"),
    ] as [([String], String)])
    func refusedBeforeLoading(arguments: [String], message: String) throws {
        let run = try RDICBinary.run(arguments + ["--model", "/nonexistent/model.gguf"])
        #expect(run.status != 0 && run.stderr.contains(message), "\(arguments.joined(separator: " ")): \(run.stderr)")
    }
}
