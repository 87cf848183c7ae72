import Foundation
import TestSupport
import Testing

/// `rdic serve` refuses settings it cannot serve with, before any model loads.
@Suite struct ServeCommandArgumentTests {
    @Test(arguments: [
        (["--port", "99999"], "--port must be 0 (any free port) to 65535, got 99999"),
        (["--parallel", "0"], "--parallel must be at least 1"),
        (["--queue-limit=-1"], "--queue-limit must not be negative"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--ctx", "0"], "--ctx must be at least 1"),
        (["--max-body", "0"], "--max-body must be at least 1 byte"),
        (["--cache-budget", "lots"], "--cache-budget: cannot read 'lots'"),
    ] as [([String], String)])
    func badSettingsAreRefused(arguments: [String], message: String) throws {
        let run = try RDICBinary.run(["serve", "--model", "/nonexistent/model.gguf"] + arguments)
        #expect(run.status != 0 && run.stderr.contains(message), "\(run.stderr)")
    }
}
