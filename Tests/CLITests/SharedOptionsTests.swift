import Foundation
import TestSupport
import Testing

/// The engine and sampling options that run, chat, generate and agents ask share are checked
/// before any model loads.
@Suite struct SharedOptionsTests {
    @Test(arguments: [
        (["--ctx", "0"], "--ctx must be at least 1"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--temperature=-1"], "--temperature must not be negative"),
        (["--top-p", "2"], "--top-p must be in (0, 1]"),
        (["--top-p", "0"], "--top-p must be in (0, 1]"),
        (["--min-p", "1.5"], "--min-p must be in [0, 1]"),
        (["--top-k=-2"], "--top-k must not be negative"),
        (["--repeat-penalty", "0"], "--repeat-penalty must be positive"),
    ] as [([String], String)])
    func badOptionsAreRefused(arguments: [String], message: String) throws {
        for command in [["generate", "--prompt", "hi"], ["agents", "ask", "a1", "hi", "--dir", "/nonexistent/agents"]] {
            let run = try RDICBinary.run(command + ["--model", "/nonexistent/model.gguf"] + arguments)
            #expect(run.status != 0 && run.stderr.contains(message), "\(command[0]): \(run.stderr)")
        }
    }
}
