import Foundation

/// A problem that keeps an instruction from being checked.
public struct IFEvalError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One IFEval instruction ready to check responses, with the reference's semantics
/// (`instructions.py` of google-research's instruction_following_eval, as lm-eval ships it).
public struct InstructionChecker: Sendable {
    public let constraint: InstructionConstraint
    private let tools: TextTools

    /// Fails when the constraint is not a valid instruction (see `IFEvalRegistry.problems`).
    public init(_ constraint: InstructionConstraint, tools: TextTools = .init()) throws(IFEvalError) {
        let problems = IFEvalRegistry.problems(constraint)
        guard problems.isEmpty else { throw IFEvalError(problems.joined(separator: "; ")) }
        self.constraint = constraint
        self.tools = tools
    }

    private func string(_ name: String) -> String { constraint.kwargs[name]?.string ?? "" }
    private func integer(_ name: String) -> Int { constraint.kwargs[name]?.integer ?? 0 }
    private func strings(_ name: String) -> [String] { constraint.kwargs[name]?.strings ?? [] }

    private func compare(_ count: Int, _ relationKey: String, _ thresholdKey: String) -> Bool {
        string(relationKey) == "less than" ? count < integer(thresholdKey) : count >= integer(thresholdKey)
    }

    /// The reference's `check_following` for this instruction.
    public func check(_ value: String) -> Bool {
        switch constraint.id {
        case "keywords:existence":
            return strings("keywords").allSatisfy { userRegex($0, caseInsensitive: true).contains(value) }
        case "keywords:frequency":
            let keyword = PythonText.strip(string("keyword"))
            return compare(userRegex(keyword, caseInsensitive: true).count(value), "relation", "frequency")
        case "keywords:forbidden_words":
            return !strings("forbidden_words").contains { userRegex(#"\b"# + $0 + #"\b"#, caseInsensitive: true).contains(value) }
        case "keywords:letter_frequency":
            let letter = PythonText.strip(string("letter")).lowercased().unicodeScalars.first
            let count = value.lowercased().unicodeScalars.reduce(0) { $0 + ($1 == letter ? 1 : 0) }
            return compare(count, "let_relation", "let_frequency")
        case "language:response_language":
            guard let language = tools.language(value) else { return true }
            return language == string("language")
        case "length_constraints:number_sentences":
            return compare(tools.sentences.count(value), "relation", "num_sentences")
        case "length_constraints:number_paragraphs":
            return Self.dividedParagraphsMatch(value, integer("num_paragraphs"))
        case "length_constraints:number_words":
            return compare(Self.wordRegex.count(value), "relation", "num_words")
        case "length_constraints:nth_paragraph_first_word":
            return Self.nthParagraphFirstWord(value, total: integer("num_paragraphs"), nth: integer("nth_paragraph"),
                                              word: string("first_word").lowercased())
        case "detectable_content:number_placeholders":
            return Self.placeholder.count(value) >= integer("num_placeholders")
        case "detectable_content:postscript":
            return postscript(value)
        case "detectable_format:number_bullet_lists":
            return Self.starBullet.count(value) + Self.dashBullet.count(value) == integer("num_bullets")
        case "detectable_format:constrained_response":
            let stripped = PythonText.strip(value)
            return ["My answer is yes.", "My answer is no.", "My answer is maybe."].contains { stripped.contains($0) }
        case "detectable_format:number_highlighted_sections":
            return Self.highlights(value) >= integer("num_highlights")
        case "detectable_format:multiple_sections":
            let splitter = PythonText.strip(string("section_spliter"))
            let sections = userRegex(#"\s?"# + splitter + #"\s?\d+\s?"#, caseInsensitive: false).split(value).count - 1
            return sections >= integer("num_sections")
        case "detectable_format:json_format":
            return Self.isJSON(value)
        case "detectable_format:title":
            return Self.title.findAll(value).contains {
                !PythonText.strip(PythonText.rstrip(PythonText.lstrip($0, characters: ["<"]), characters: [">"])).isEmpty
            }
        case "combination:two_responses":
            return Self.twoResponses(value)
        case "combination:repeat_prompt":
            return PythonText.hasPrefix(PythonText.strip(value).lowercased(),
                                        PythonText.strip(string("prompt_to_repeat")).lowercased())
        case "startend:end_checker":
            let text = PythonText.strip(PythonText.strip(value), characters: ["\""]).lowercased()
            return PythonText.hasSuffix(text, PythonText.strip(string("end_phrase")).lowercased())
        case "change_case:capital_word_frequency":
            let capitals = tools.words.tokenize(value).filter(PythonText.isUpper).count
            return compare(capitals, "capital_relation", "capital_frequency")
        case "change_case:english_capital":
            return PythonText.isUpper(value) && tools.language(value).map { $0 == "en" } ?? true
        case "change_case:english_lowercase":
            return PythonText.isLower(value) && tools.language(value).map { $0 == "en" } ?? true
        case "punctuation:no_comma":
            return !value.unicodeScalars.contains(",")
        case "startend:quotation":
            let scalars = Array(PythonText.strip(value).unicodeScalars)
            return scalars.count > 1 && scalars.first == "\"" && scalars.last == "\""
        default:
            return false
        }
    }

    // MARK: patterns and helpers

    private static let wordRegex = PyRegex(#"\w+"#)
    private static let placeholder = PyRegex(#"\[.*?\]"#)
    private static let starBullet = PyRegex(#"^\s*\*[^\*].*$"#, multiline: true)
    private static let dashBullet = PyRegex(#"^\s*-.*$"#, multiline: true)
    private static let singleHighlight = PyRegex(#"\*[^\n\*]*\*"#)
    private static let doubleHighlight = PyRegex(#"\*\*[^\n\*]*\*\*"#)
    private static let divider = PyRegex(#"\s?\*\*\*\s?"#)
    private static let title = PyRegex(#"<<[^\n]+>>"#)

    /// Keywords and markers are regular expressions to the reference; text ICU cannot compile is
    /// matched literally (the reference would raise instead).
    private func userRegex(_ pattern: String, caseInsensitive: Bool, multiline: Bool = false) -> PyRegex {
        PyRegex.user(pattern, caseInsensitive: caseInsensitive, multiline: multiline)
            ?? PyRegex(NSRegularExpression.escapedPattern(for: pattern), caseInsensitive: caseInsensitive, multiline: multiline)
    }

    private func postscript(_ value: String) -> Bool {
        let marker = PythonText.strip(string("postscript_marker"))
        let pattern: String
        switch marker {
        case "P.P.S": pattern = #"\s*p\.\s?p\.\s?s.*$"#
        case "P.S.": pattern = #"\s*p\.\s?s\..*$"#
        default: pattern = #"\s*"# + marker.lowercased() + ".*$"
        }
        return userRegex(pattern, caseInsensitive: false, multiline: true).contains(value.lowercased())
    }

    private static func dividedParagraphsMatch(_ value: String, _ expected: Int) -> Bool {
        let paragraphs = divider.split(value)
        var count = paragraphs.count
        for (index, paragraph) in paragraphs.enumerated() where PythonText.strip(paragraph).isEmpty {
            if index == 0 || index == paragraphs.count - 1 { count -= 1 } else { return false }
        }
        return count == expected
    }

    private static func nthParagraphFirstWord(_ value: String, total: Int, nth: Int, word: String) -> Bool {
        let paragraphs = PythonText.split(value, separator: "\n\n")
        let count = paragraphs.count - paragraphs.filter { PythonText.strip($0).isEmpty }.count
        guard nth <= count else { return false }
        let paragraph = PythonText.strip(paragraphs[nth - 1])
        guard let first = PythonText.splitWhitespace(paragraph).first else { return false }
        let trimmed = PythonText.lstrip(PythonText.lstrip(PythonText.strip(first), characters: ["'"]), characters: ["\""])
        var firstWord = ""
        for character in trimmed.unicodeScalars {
            if ".,?!'\"".unicodeScalars.contains(character) { break }
            firstWord += String(character).lowercased()
        }
        return count == total && firstWord == word
    }

    private static func highlights(_ value: String) -> Int {
        let single = singleHighlight.findAll(value).filter { !PythonText.strip(PythonText.strip($0, characters: ["*"])).isEmpty }
        let double = doubleHighlight.findAll(value).filter {
            !PythonText.strip(PythonText.removeSuffix(PythonText.removePrefix($0, "**"), "**")).isEmpty
        }
        return single.count + double.count
    }

    private static func isJSON(_ value: String) -> Bool {
        var text = PythonText.strip(value)
        for prefix in ["```json", "```Json", "```JSON", "```"] { text = PythonText.removePrefix(text, prefix) }
        text = PythonText.strip(PythonText.removeSuffix(text, "```"))
        return PythonJSON.isValid(text)
    }

    private static func twoResponses(_ value: String) -> Bool {
        let parts = PythonText.split(value, separator: "******")
        var valid: [String] = []
        for (index, part) in parts.enumerated() {
            if PythonText.strip(part).isEmpty {
                if index != 0 && index != parts.count - 1 { return false }
            } else {
                valid.append(part)
            }
        }
        return valid.count == 2
            && !PythonText.strip(valid[0]).unicodeScalars.elementsEqual(PythonText.strip(valid[1]).unicodeScalars)
    }
}

/// The text analysers the checkers share: Punkt sentences, NLTK words, a language guesser.
public struct TextTools: Sendable {
    public var sentences: PunktSentenceTokenizer
    public var words: WordTokenizer
    public var language: @Sendable (String) -> String?

    public init(sentences: PunktSentenceTokenizer = .init(),
                language: @escaping @Sendable (String) -> String? = LanguageGuesser.detect) {
        self.sentences = sentences
        self.words = WordTokenizer(sentences: sentences)
        self.language = language
    }
}
