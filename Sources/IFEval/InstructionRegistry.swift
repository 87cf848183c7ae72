import Foundation

/// A keyword argument of an IFEval instruction, as the benchmark's JSON carries it.
public enum IFEvalValue: Codable, Sendable, Equatable, Hashable {
    case string(String)
    case integer(Int)
    case strings([String])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String].self) {
            self = .strings(value)
        } else {
            throw DecodingError.typeMismatch(IFEvalValue.self, .init(
                codingPath: decoder.codingPath,
                debugDescription: "expected a string, an integer or an array of strings"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .strings(let value): try container.encode(value)
        }
    }

    public var string: String? { if case .string(let v) = self { v } else { nil } }
    public var integer: Int? { if case .integer(let v) = self { v } else { nil } }
    public var strings: [String]? { if case .strings(let v) = self { v } else { nil } }
}

/// One verifiable instruction: an IFEval instruction id and its arguments.
public struct InstructionConstraint: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var kwargs: [String: IFEvalValue]

    public init(id: String, kwargs: [String: IFEvalValue] = [:]) {
        self.id = id
        self.kwargs = kwargs
    }

    private enum CodingKeys: String, CodingKey { case id, kwargs }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        kwargs = try container.decodeIfPresent([String: IFEvalValue].self, forKey: .kwargs) ?? [:]
    }
}

/// The 25 instruction ids of IFEval and the arguments each takes.
///
/// The reference draws a random value for an argument left out; a dataset must not, so here every
/// argument is required and checked the way the reference's `build_description` would accept it.
public enum IFEvalRegistry {
    public enum ArgumentKind: Sendable, Equatable {
        case string, integer, strings
    }

    /// The relations the reference compares counts with.
    public static let relations = ["less than", "at least"]

    /// ISO 639-1 codes the reference accepts for `language:response_language`.
    public static let languageCodes: [String: String] = [
        "en": "English", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "hi": "Hindi",
        "fr": "French", "ru": "Russian", "de": "German", "ja": "Japanese", "it": "Italian",
        "bn": "Bengali", "uk": "Ukrainian", "th": "Thai", "ur": "Urdu", "ta": "Tamil",
        "te": "Telugu", "bg": "Bulgarian", "ko": "Korean", "pl": "Polish", "he": "Hebrew",
        "fa": "Persian", "vi": "Vietnamese", "ne": "Nepali", "sw": "Swahili", "kn": "Kannada",
        "mr": "Marathi", "gu": "Gujarati", "pa": "Punjabi", "ml": "Malayalam", "fi": "Finnish",
    ]

    /// Arguments of each instruction id, in the reference's order.
    public static let arguments: [String: [(name: String, kind: ArgumentKind)]] = [
        "keywords:existence": [("keywords", .strings)],
        "keywords:frequency": [("keyword", .string), ("frequency", .integer), ("relation", .string)],
        "keywords:forbidden_words": [("forbidden_words", .strings)],
        "keywords:letter_frequency": [("letter", .string), ("let_frequency", .integer), ("let_relation", .string)],
        "language:response_language": [("language", .string)],
        "length_constraints:number_sentences": [("num_sentences", .integer), ("relation", .string)],
        "length_constraints:number_paragraphs": [("num_paragraphs", .integer)],
        "length_constraints:number_words": [("num_words", .integer), ("relation", .string)],
        "length_constraints:nth_paragraph_first_word": [
            ("num_paragraphs", .integer), ("nth_paragraph", .integer), ("first_word", .string),
        ],
        "detectable_content:number_placeholders": [("num_placeholders", .integer)],
        "detectable_content:postscript": [("postscript_marker", .string)],
        "detectable_format:number_bullet_lists": [("num_bullets", .integer)],
        "detectable_format:constrained_response": [],
        "detectable_format:number_highlighted_sections": [("num_highlights", .integer)],
        "detectable_format:multiple_sections": [("section_spliter", .string), ("num_sections", .integer)],
        "detectable_format:json_format": [],
        "detectable_format:title": [],
        "combination:two_responses": [],
        "combination:repeat_prompt": [("prompt_to_repeat", .string)],
        "startend:end_checker": [("end_phrase", .string)],
        "change_case:capital_word_frequency": [("capital_frequency", .integer), ("capital_relation", .string)],
        "change_case:english_capital": [],
        "change_case:english_lowercase": [],
        "punctuation:no_comma": [],
        "startend:quotation": [],
    ]

    public static let instructionIDs: [String] = arguments.keys.sorted()

    /// Why `c` is not a valid instruction; empty when it is.
    public static func problems(_ c: InstructionConstraint) -> [String] {
        guard let expected = arguments[c.id] else {
            return ["unknown instruction id '\(c.id)'"]
        }
        var found: [String] = []
        let names = Set(expected.map(\.name))
        for name in c.kwargs.keys.sorted() where !names.contains(name) {
            found.append("\(c.id): unknown argument '\(name)'")
        }
        for (name, kind) in expected {
            guard let value = c.kwargs[name] else {
                found.append("\(c.id): missing argument '\(name)'")
                continue
            }
            found += valueProblems(id: c.id, name: name, kind: kind, value: value)
        }
        if found.isEmpty { found += crossProblems(c) }
        return found
    }

    private static func valueProblems(id: String, name: String, kind: ArgumentKind, value: IFEvalValue) -> [String] {
        let label = "\(id): argument '\(name)'"
        switch (kind, value) {
        case (.integer, .integer(let n)):
            return n < 0 ? ["\(label) must not be negative, got \(n)"] : []
        case (.string, .string(let s)):
            if s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return ["\(label) must not be empty"] }
            if name.hasSuffix("relation"), !relations.contains(s) {
                return ["\(label) must be one of \(relations.map { "'\($0)'" }.joined(separator: ", ")), got '\(s)'"]
            }
            if name == "language", languageCodes[s] == nil {
                return ["\(label): '\(s)' is not a language code IFEval supports"]
            }
            if name == "letter", !(s.count == 1 && s.unicodeScalars.allSatisfy { $0.isASCIILetter }) {
                return ["\(label) must be one ASCII letter, got '\(s)'"]
            }
            return []
        case (.strings, .strings(let list)):
            if list.isEmpty { return ["\(label) must not be an empty list"] }
            if list.contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
                return ["\(label) must not contain an empty string"]
            }
            return []
        default:
            return ["\(label) must be \(kind.description), got \(value.kindDescription)"]
        }
    }

    private static func crossProblems(_ c: InstructionConstraint) -> [String] {
        guard c.id == "length_constraints:nth_paragraph_first_word",
              let total = c.kwargs["num_paragraphs"]?.integer,
              let nth = c.kwargs["nth_paragraph"]?.integer else { return [] }
        if nth <= 0 || nth > total {
            return ["\(c.id): 'nth_paragraph' must be between 1 and num_paragraphs (\(total)), got \(nth)"]
        }
        return []
    }
}

extension IFEvalRegistry.ArgumentKind: CustomStringConvertible {
    public var description: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .strings: "an array of strings"
        }
    }
}

extension IFEvalValue {
    var kindDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .strings: "an array of strings"
        }
    }
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
