/// The five conflict types and their subtypes; a record's `conflict_type` is `<type>_<subtype>`.
public enum ConflictKind: String, CaseIterable, Sendable, Codable {
    case tone, detail, style, content, format

    public var subtypes: [String] {
        switch self {
        case .tone: return ["formal_vs_casual", "professional_vs_friendly", "serious_vs_humorous", "empathetic_vs_objective"]
        case .detail: return ["brief_vs_detailed", "concise_vs_comprehensive", "summary_vs_exhaustive", "minimal_vs_verbose"]
        case .style: return ["technical_vs_layperson", "academic_vs_conversational", "jargon_heavy_vs_simple", "formal_vs_informal"]
        case .content: return ["citations_vs_no_citations", "examples_vs_no_examples", "opinions_vs_facts_only", "background_vs_direct_answer"]
        case .format: return ["structured_vs_freeform", "bullets_vs_paragraphs", "lists_vs_prose", "sections_vs_continuous"]
        }
    }
}

/// A type and one of its subtypes.
public struct ConflictCategory: Sendable, Hashable, Codable {
    public var kind: ConflictKind
    public var subtype: String

    public init(kind: ConflictKind, subtype: String) {
        self.kind = kind
        self.subtype = subtype
    }

    /// Parses `<type>_<subtype>`; nil when the type is unknown or the subtype is not one of its own.
    public init?(conflictType: String) {
        guard let underscore = conflictType.firstIndex(of: "_"),
              let kind = ConflictKind(rawValue: String(conflictType[..<underscore])) else { return nil }
        let subtype = String(conflictType[conflictType.index(after: underscore)...])
        guard kind.subtypes.contains(subtype) else { return nil }
        self.init(kind: kind, subtype: subtype)
    }

    public var conflictType: String { "\(kind.rawValue)_\(subtype)" }

    /// The two sides of the subtype (`formal_vs_casual` -> `formal`, `casual`), which are also
    /// natural cluster labels.
    public var sides: (String, String) {
        let parts = subtype.components(separatedBy: "_vs_")
        return (parts.first ?? subtype, parts.count > 1 ? parts[1] : subtype)
    }

    public static let all: [ConflictCategory] = ConflictKind.allCases.flatMap { kind in
        kind.subtypes.map { ConflictCategory(kind: kind, subtype: $0) }
    }
}

/// Where the writing task of a record comes from.
public enum ConflictDomain: String, CaseIterable, Sendable, Codable {
    case businessEmail = "business_email"
    case technicalDocumentation = "technical_documentation"
    case academicWriting = "academic_writing"
    case customerSupport = "customer_support"
    case creativeWriting = "creative_writing"
    case codeComments = "code_comments"
    case socialMedia = "social_media"
    case legalWriting = "legal_writing"
    case medicalRecords = "medical_records"
    case educationalContent = "educational_content"
}

/// What a record is for, which decides its turn layout.
public enum RecordPurpose: String, CaseIterable, Sendable {
    /// Two conflicting instructions (turns 1 and 2), then one query asking for both versions.
    case contextIsolation = "context_isolation_test"
    /// Instructions accumulating over several turns in two contexts, then one query (Multi-IF style).
    case multiTurn = "multi_turn_instruction_following"
}
