import IFEval

/// Which pairs of IFEval constraints no single response can satisfy together. A record with
/// verifiable constraints is only a conflict test if its two sides contain such a pair. The
/// table follows the reference checkers' semantics (exact counts, "less than" vs "at least",
/// case rules, JSON parsing); one pair is not strict: a word both required (`keywords:existence`,
/// a substring search) and forbidden (`keywords:forbidden_words`, a whole-word search) could
/// in principle be met by the word inside a longer one ("examples"), which no natural answer
/// relies on. An unknown pair is reported by the validator, never silently accepted.
public enum ConstraintConflicts {
    /// Why `a` and `b` cannot both hold, or nil when no response is known to be ruled out.
    public static func reason(_ a: InstructionConstraint, _ b: InstructionConstraint) -> String? {
        reasonOrdered(a, b) ?? reasonOrdered(b, a)
    }

    /// The first conflicting pair between two sets, described.
    public static func firstConflict(_ left: [InstructionConstraint], _ right: [InstructionConstraint]) -> String? {
        for a in left {
            for b in right { if let why = reason(a, b) { return why } }
        }
        return nil
    }

    private static func reasonOrdered(_ a: InstructionConstraint, _ b: InstructionConstraint) -> String? {
        switch (a.id, b.id) {
        case ("change_case:english_lowercase", "change_case:english_capital"):
            return "all lowercase vs all capitals"
        case ("change_case:english_lowercase", "change_case:capital_word_frequency")
            where b.string("capital_relation") == "at least" && (b.int("capital_frequency") ?? 0) >= 1:
            return "all lowercase vs at least \(b.int("capital_frequency") ?? 0) capitalised words"
        case ("change_case:english_lowercase", "detectable_format:constrained_response"),
             ("change_case:english_capital", "detectable_format:constrained_response"):
            return "\(a.id) rules out the mixed-case answer phrases (\"My answer is yes.\")"
        case ("detectable_format:number_bullet_lists", "detectable_format:json_format") where (a.int("num_bullets") ?? 0) >= 1:
            return "\(a.int("num_bullets") ?? 0) markdown bullets vs a JSON document"
        case ("detectable_format:json_format", "startend:end_checker"):
            // A JSON document ends in } ] " a digit or a letter of true/false/null; a phrase
            // ending in other punctuation can never be its last character.
            guard let phrase = b.string("end_phrase")?.trimmingCharacters(in: .whitespaces), let last = phrase.last,
                  !(last.isLetter || last.isNumber || "}]\"".contains(last)) else { return nil }
            return "a JSON document cannot end with '\(phrase)'"
        case ("keywords:existence", "keywords:forbidden_words"):
            let required = Set((a.strings("keywords") ?? []).map { $0.lowercased() })
            let forbidden = Set((b.strings("forbidden_words") ?? []).map { $0.lowercased() })
            guard let word = required.intersection(forbidden).sorted().first else { return nil }
            return "'\(word)' is both required and forbidden"
        case ("language:response_language", "language:response_language") where a.string("language") != b.string("language"):
            return "answer in \(a.string("language") ?? "?") vs in \(b.string("language") ?? "?")"
        case ("startend:end_checker", "startend:end_checker"):
            guard let x = a.string("end_phrase")?.lowercased(), let y = b.string("end_phrase")?.lowercased(),
                  !x.hasSuffix(y), !y.hasSuffix(x) else { return nil }
            return "the answer cannot end with both '\(x)' and '\(y)'"
        case ("length_constraints:number_paragraphs", "length_constraints:number_paragraphs"),
             ("detectable_format:number_bullet_lists", "detectable_format:number_bullet_lists"):
            guard a.kwargs != b.kwargs, let x = a.kwargs.values.first, let y = b.kwargs.values.first, x != y else { return nil }
            return "\(a.id) asks for an exact count: \(x.text) vs \(y.text)"
        default:
            return countsDisjoint(a, b)
        }
    }

    /// Same counted quantity, "less than X" vs "at least Y" with Y >= X.
    private static func countsDisjoint(_ a: InstructionConstraint, _ b: InstructionConstraint) -> String? {
        guard a.id == b.id else { return nil }
        let (countKey, relationKey, sameKeys): (String, String, [String])
        switch a.id {
        case "length_constraints:number_words": (countKey, relationKey, sameKeys) = ("num_words", "relation", [])
        case "length_constraints:number_sentences": (countKey, relationKey, sameKeys) = ("num_sentences", "relation", [])
        case "keywords:frequency": (countKey, relationKey, sameKeys) = ("frequency", "relation", ["keyword"])
        case "keywords:letter_frequency": (countKey, relationKey, sameKeys) = ("let_frequency", "let_relation", ["letter"])
        case "change_case:capital_word_frequency": (countKey, relationKey, sameKeys) = ("capital_frequency", "capital_relation", [])
        default: return nil
        }
        guard sameKeys.allSatisfy({ a.string($0)?.lowercased() == b.string($0)?.lowercased() }),
              a.string(relationKey) == "less than", b.string(relationKey) == "at least",
              let below = a.int(countKey), let atLeast = b.int(countKey), atLeast >= below else { return nil }
        return "\(countKey) less than \(below) vs at least \(atLeast)"
    }
}

extension InstructionConstraint {
    func string(_ key: String) -> String? { if case .string(let value)? = kwargs[key] { return value } else { return nil } }
    func int(_ key: String) -> Int? { if case .integer(let value)? = kwargs[key] { return value } else { return nil } }
    func strings(_ key: String) -> [String]? { if case .strings(let value)? = kwargs[key] { return value } else { return nil } }
}

extension IFEvalValue {
    /// The value as a person writes it.
    var text: String {
        switch self {
        case .integer(let n): return String(n)
        case .string(let s): return "\"\(s)\""
        case .strings(let list): return "[" + list.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }
}
