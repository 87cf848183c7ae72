import Foundation
import Testing
import IFEval

@Suite("IFEval: instruction registry")
struct RegistryTests {
    @Test("25 instruction ids, each with its reference arguments")
    func ids() {
        #expect(IFEvalRegistry.instructionIDs.count == 25)
        #expect(IFEvalRegistry.instructionIDs.contains("detectable_format:number_bullet_lists"))
        #expect(IFEvalRegistry.arguments["keywords:letter_frequency"]?.map(\.name) == ["letter", "let_frequency", "let_relation"])
        #expect(IFEvalRegistry.arguments["detectable_format:multiple_sections"]?.map(\.name) == ["section_spliter", "num_sections"])
    }

    @Test("valid constraints have no problems")
    func valid() {
        let constraints = [
            InstructionConstraint(id: "change_case:english_lowercase"),
            InstructionConstraint(id: "length_constraints:number_words", kwargs: ["num_words": .integer(50), "relation": .string("less than")]),
            InstructionConstraint(id: "keywords:existence", kwargs: ["keywords": .strings(["cache", "kv"])]),
            InstructionConstraint(id: "language:response_language", kwargs: ["language": .string("fr")]),
            InstructionConstraint(id: "length_constraints:nth_paragraph_first_word",
                                  kwargs: ["num_paragraphs": .integer(3), "nth_paragraph": .integer(3), "first_word": .string("so")]),
        ]
        for constraint in constraints { #expect(IFEvalRegistry.problems(constraint).isEmpty, "\(constraint)") }
    }

    @Test("each kind of problem is reported", arguments: [
        (InstructionConstraint(id: "change_case:shouting"), "unknown instruction id"),
        (InstructionConstraint(id: "punctuation:no_comma", kwargs: ["strict": .integer(1)]), "unknown argument 'strict'"),
        (InstructionConstraint(id: "length_constraints:number_words", kwargs: ["num_words": .integer(5)]), "missing argument 'relation'"),
        (InstructionConstraint(id: "length_constraints:number_words", kwargs: ["num_words": .string("5"), "relation": .string("at least")]), "must be an integer"),
        (InstructionConstraint(id: "length_constraints:number_words", kwargs: ["num_words": .integer(5), "relation": .string("at most")]), "must be one of 'less than', 'at least'"),
        (InstructionConstraint(id: "length_constraints:number_words", kwargs: ["num_words": .integer(-1), "relation": .string("at least")]), "must not be negative"),
        (InstructionConstraint(id: "keywords:existence", kwargs: ["keywords": .strings([])]), "must not be an empty list"),
        (InstructionConstraint(id: "keywords:letter_frequency", kwargs: ["letter": .string("ab"), "let_frequency": .integer(2), "let_relation": .string("at least")]), "one ASCII letter"),
        (InstructionConstraint(id: "language:response_language", kwargs: ["language": .string("klingon")]), "not a language code"),
        (InstructionConstraint(id: "length_constraints:nth_paragraph_first_word",
                               kwargs: ["num_paragraphs": .integer(2), "nth_paragraph": .integer(3), "first_word": .string("so")]), "between 1 and num_paragraphs"),
    ])
    func problems(constraint: InstructionConstraint, expected: String) {
        let problems = IFEvalRegistry.problems(constraint)
        #expect(problems.count == 1)
        #expect(problems.first?.contains(expected) == true, "\(problems)")
    }

    @Test("JSON: string, integer and array of strings; kwargs may be absent")
    func json() throws {
        let text = #"{"id":"keywords:frequency","kwargs":{"keyword":"kv","frequency":3,"relation":"at least"}}"#
        let constraint = try JSONDecoder().decode(InstructionConstraint.self, from: Data(text.utf8))
        #expect(constraint.kwargs == ["keyword": .string("kv"), "frequency": .integer(3), "relation": .string("at least")])
        let list = try JSONDecoder().decode(IFEvalValue.self, from: Data(#"["a","b"]"#.utf8))
        #expect(list == .strings(["a", "b"]))
        let back = try JSONDecoder().decode(InstructionConstraint.self, from: JSONEncoder().encode(constraint))
        #expect(back == constraint)
        let bare = try JSONDecoder().decode(InstructionConstraint.self, from: Data(#"{"id":"punctuation:no_comma"}"#.utf8))
        #expect(bare.kwargs.isEmpty)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(IFEvalValue.self, from: Data("1.5".utf8)) }
    }
}
