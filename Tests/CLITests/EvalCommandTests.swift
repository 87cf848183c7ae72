import Foundation
import TestSupport
import Testing

/// `rdic eval ifeval` on benchmark-format files we write, and `rdic eval style`.
@Suite struct EvalCommandTests {
    static let inputs = """
        {"key": 1, "prompt": "Describe a cache in lowercase.", "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}
        {"key": 2, "prompt": "List three fruits.", "instruction_id_list": ["detectable_format:number_bullet_lists", "punctuation:no_comma"], "kwargs": [{"num_bullets": 3}, {}]}
        """
    static let responses = """
        {"prompt": "Describe a cache in lowercase.", "response": "a cache keeps recent keys and values."}
        {"prompt": "List three fruits.", "response": "Fruits:\\n* apple\\n* pear\\n* plum, ripe"}
        """

    @Test func ifevalWritesResultsAndPrintsAccuracy() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-ifeval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("input_data.jsonl")
        let responses = directory.appendingPathComponent("responses.jsonl")
        try Self.inputs.write(to: input, atomically: true, encoding: .utf8)
        try Self.responses.write(to: responses, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("out")
        let r = try RDICBinary.run(["eval", "ifeval", "--input-data", input.path, "--responses", responses.path,
                                    "--output-dir", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("eval_results_strict.jsonl Accuracy Scores:\nprompt-level: 0.5\ninstruction-level: 0.6666666666666666\n"))
        #expect(r.stdout.contains("eval_results_loose.jsonl Accuracy Scores:\nprompt-level: 1.0\ninstruction-level: 1.0\n"))
        let strict = try String(contentsOf: out.appendingPathComponent("eval_results_strict.jsonl"), encoding: .utf8)
        let lines = strict.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 2)
        #expect(lines[1]?["follow_instruction_list"] as? [Bool] == [true, false])
        #expect(lines[1]?["follow_all_instructions"] as? Bool == false)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("eval_results_loose.jsonl").path))

        let missing = try RDICBinary.run(["eval", "ifeval", "--input-data", directory.appendingPathComponent("nope.jsonl").path,
                                          "--responses", responses.path, "--output-dir", out.path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot read"))
        let both = try RDICBinary.run(["eval", "ifeval", "--input-data", input.path, "--output-dir", out.path])
        #expect(both.status != 0)
        #expect(both.stderr.contains("exactly one of --responses FILE or --model ALIAS"))
    }

    @Test func styleScoresAPoleAndNeedsAKeyForTheJudge() throws {
        let r = try RDICBinary.run(["eval", "style", "--subtype", "bullets_vs_paragraphs", "--pole", "bullets", "-"],
                                   stdin: "- one\n- two\n- three\n")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("rule score 1.000 for bullets (3 list lines"))
        let judge = try RDICBinary.run(["eval", "style", "--subtype", "formal_vs_casual", "--pole", "0", "-",
                                        "--judge", "claude-haiku-4.5"],
                                       environment: ["ANTHROPIC_API_KEY": "", "XDG_CONFIG_HOME": FileManager.default.temporaryDirectory.path + "/rdic-no-config"],
                                       stdin: "Dear Sir,")
        #expect(judge.status != 0)
        #expect(judge.stderr.contains("ANTHROPIC_API_KEY not set"))
    }
}
