import Foundation
import TestSupport
import Testing

/// `rdic bench-agents` refuses arguments it cannot measure, before any model loads.
@Suite struct BenchAgentsCommandTests {
    @Test(arguments: [
        (["--new", "0"], "--new must be at least 1"),
        (["--history=-1"], "--history must not be negative"),
        (["--agents", "4,abc"], "--agents takes counts of 2 or more, comma-separated (got 'abc')"),
        (["--agents", "1"], "--agents takes counts of 2 or more, comma-separated (got '1')"),
        (["--tests", "warm,speed"], "unknown test 'speed' (known: throughput, warm, budget)"),
        (["--budget-agents", "0"], "--budget-agents must be at least 1"),
    ] as [([String], String)])
    func badArgumentsAreRefused(arguments: [String], message: String) throws {
        let run = try RDICBinary.run(["bench-agents", "--model", "/nonexistent/model.gguf"] + arguments)
        #expect(run.status != 0 && run.stderr.contains(message), "\(run.stderr)")
    }
}
