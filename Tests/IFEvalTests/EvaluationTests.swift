import Foundation
import Testing
@testable import IFEval

@Suite("IFEval: evaluation files and report")
struct EvaluationTests {
    static let inputs = """
        {"key": 1, "prompt": "Describe a cache in lowercase.", "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}
        {"key": 2, "prompt": "List three fruits.", "instruction_id_list": ["detectable_format:number_bullet_lists", "punctuation:no_comma"], "kwargs": [{"num_bullets": 3}, {}]}
        {"key": 3, "prompt": "Say yes or no.", "instruction_id_list": ["detectable_format:constrained_response", "length_constraints:number_words"], "kwargs": [{"num_bullets": null}, {"num_words": 10, "relation": "less than"}]}
        """
    static let responses = """
        {"prompt": "Describe a cache in lowercase.", "response": "a cache keeps recent keys and values so the model does not recompute them."}
        {"prompt": "List three fruits.", "response": "Fruits:\\n* apple\\n* pear\\n* plum, ripe"}
        {"prompt": "Say yes or no.", "response": "Answer:\\n**My answer is yes.**"}
        """

    @Test("strict and loose results per prompt, accuracy as evaluation_main prints it")
    func evaluate() throws {
        let inputs = try JSONLines.decode(IFEvalInput.self, text: Self.inputs)
        let responses = try JSONLines.decode(IFEvalResponse.self, text: Self.responses)
        let byPrompt = Dictionary(uniqueKeysWithValues: responses.map { ($0.prompt, $0.response) })
        let evaluator = IFEvalEvaluator()
        let strict = try evaluator.evaluate(inputs, responses: byPrompt, mode: .strict)
        let loose = try evaluator.evaluate(inputs, responses: byPrompt, mode: .loose)
        #expect(strict.map(\.followInstructionList) == [[true], [true, false], [true, true]])
        #expect(loose.map(\.followInstructionList) == [[true], [true, true], [true, true]])
        let report = IFEvalReport(strict)
        #expect(report.promptLevel == 2.0 / 3.0)
        #expect(report.instructionLevel == 0.8)
        #expect(report.text.hasPrefix("prompt-level: 0.6666666666666666\ninstruction-level: 0.8\n\nchange_case 1.0\ndetectable_format 1.0\n"))
        #expect(report.text.contains("punctuation:no_comma 0.0"))
        #expect(IFEvalReport(loose).promptLevel == 1.0)
        let line = try JSONLines.encode([strict[1]])
        #expect(line == #"{"follow_all_instructions":false,"follow_instruction_list":[true,false],"instruction_id_list":["detectable_format:number_bullet_lists","punctuation:no_comma"],"prompt":"List three fruits.","response":"Fruits:\n* apple\n* pear\n* plum, ripe"}"# + "\n")
    }

    @Test("an empty response follows nothing, even where the checker would accept it")
    func emptyResponse() throws {
        let constraint = InstructionConstraint(id: "length_constraints:number_words", kwargs: ["num_words": .integer(5), "relation": .string("less than")])
        #expect(try IFEvalEvaluator().follows([constraint], response: "  \n", mode: .loose) == [false])
        #expect(try InstructionChecker(constraint).check("  \n"))
    }

    @Test("loose variants: without first line, last line, both, and each without asterisks")
    func looseVariants() {
        let variants = IFEvalEvaluator.looseVariants("Title\n*body*\nEnd")
        #expect(variants == ["Title\n*body*\nEnd", "Title\nbody\nEnd", "*body*\nEnd", "Title\n*body*", "*body*",
                             "body\nEnd", "Title\nbody", "body"])
    }

    @Test("clear errors: a missing response, a bad line, mismatched kwargs, an invalid instruction")
    func errors() throws {
        let inputs = try JSONLines.decode(IFEvalInput.self, text: Self.inputs)
        #expect(throws: IFEvalError.self) { try IFEvalEvaluator().evaluate(inputs, responses: [:], mode: .strict) }
        do {
            _ = try JSONLines.decode(IFEvalInput.self, text: "{\"key\": 1}\n", source: "input.jsonl")
            Issue.record("decoded a line without fields")
        } catch {
            #expect(error.message.hasPrefix("input.jsonl line 1: missing field"))
        }
        let mismatched = IFEvalInput(key: 9, prompt: "p", instructionIDList: ["punctuation:no_comma"], kwargs: [])
        #expect(throws: IFEvalError.self) { try mismatched.constraints() }
        let invalid = IFEvalInput(key: 9, prompt: "p", instructionIDList: ["punctuation:no_colon"], kwargs: [[:]])
        do {
            _ = try IFEvalEvaluator().evaluate([invalid], responses: ["p": "x"], mode: .strict)
            Issue.record("accepted an unknown id")
        } catch {
            #expect(error.message == "key 9: unknown instruction id 'punctuation:no_colon'")
        }
    }

    @Test("Punkt: abbreviations, initials, numbers and quotes as NLTK splits them")
    func punkt() {
        let punkt = PunktSentenceTokenizer()
        #expect(punkt.sentences("Dr. Smith arrived at 9 a.m. The meeting started late.")
            == ["Dr. Smith arrived at 9 a.m.", "The meeting started late."])
        #expect(punkt.sentences("He said \"stop.\" Then he left! Did she follow?") == ["He said \"stop.\"", "Then he left!", "Did she follow?"])
        #expect(punkt.count("Prices rose 3.5 percent. Wow!!! Really.") == 3)
        #expect(punkt.count("") == 0)
        #expect(WordTokenizer().tokenize("NASA's rover CANNOT land.") == ["NASA", "'s", "rover", "CAN", "NOT", "land", "."])
    }
}

@Suite("IFEval: Punkt model files")
struct PunktModelFileTests {
    /// After an initial ("A."), a capitalized word the model has seen lowercase starts a new
    /// sentence, and one it has never seen does not: the orthographic table decides.
    @Test("a punkt_tab directory is read and its orthographic table decides")
    func load() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("punkt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "c\nmr\n".write(to: directory.appendingPathComponent("abbrev_types.txt"), atomically: true, encoding: .utf8)
        try "the\n".write(to: directory.appendingPathComponent("sent_starters.txt"), atomically: true, encoding: .utf8)
        try "##number##\tcredit\n".write(to: directory.appendingPathComponent("collocations.tab"), atomically: true, encoding: .utf8)
        try "negotiate\t32\n".write(to: directory.appendingPathComponent("ortho_context.tab"), atomically: true, encoding: .utf8)
        let text = "Plan A. Negotiate. Mr. Smith agreed."
        let model = PunktSentenceTokenizer(parameters: try PunktParameters.load(punktTabDirectory: directory))
        #expect(model.sentences(text) == ["Plan A.", "Negotiate.", "Mr. Smith agreed."])
        #expect(PunktSentenceTokenizer().sentences(text) == ["Plan A. Negotiate.", "Mr. Smith agreed."])
        #expect(throws: IFEvalError.self) { try PunktParameters.load(punktTabDirectory: directory.appendingPathComponent("missing")) }
    }
}
