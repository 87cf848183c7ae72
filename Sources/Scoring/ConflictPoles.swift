/// The five conflict types and their twenty subtypes, each a pair of opposite poles.
public enum ConflictDimension: String, Sendable, CaseIterable, Codable {
    case tone, detail, style, content, format
}

/// One subtype, e.g. `formal_vs_casual`: pole 0 is `formal`, pole 1 `casual`.
public struct ConflictSubtype: Sendable, Hashable {
    public let dimension: ConflictDimension
    public let poles: (String, String)

    public var name: String { "\(poles.0)_vs_\(poles.1)" }

    public static func == (a: ConflictSubtype, b: ConflictSubtype) -> Bool { a.name == b.name && a.dimension == b.dimension }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    /// Index of a pole by name.
    public func index(of pole: String) -> Int? {
        pole == poles.0 ? 0 : pole == poles.1 ? 1 : nil
    }

    public func pole(_ index: Int) -> String { index == 0 ? poles.0 : poles.1 }

    public static let all: [ConflictSubtype] = [
        .init(.tone, "formal", "casual"), .init(.tone, "professional", "friendly"),
        .init(.tone, "serious", "humorous"), .init(.tone, "empathetic", "objective"),
        .init(.detail, "brief", "detailed"), .init(.detail, "concise", "comprehensive"),
        .init(.detail, "summary", "exhaustive"), .init(.detail, "minimal", "verbose"),
        .init(.style, "technical", "layperson"), .init(.style, "academic", "conversational"),
        .init(.style, "jargon_heavy", "simple"), .init(.style, "formal", "informal"),
        .init(.content, "citations", "no_citations"), .init(.content, "examples", "no_examples"),
        .init(.content, "opinions", "facts_only"), .init(.content, "background", "direct_answer"),
        .init(.format, "structured", "freeform"), .init(.format, "bullets", "paragraphs"),
        .init(.format, "lists", "prose"), .init(.format, "sections", "continuous"),
    ]

    /// Looks a subtype up by name, with or without its type prefix ("tone_formal_vs_casual").
    public static func named(_ name: String) -> ConflictSubtype? {
        all.first { $0.name == name || "\($0.dimension.rawValue)_\($0.name)" == name }
    }

    private init(_ dimension: ConflictDimension, _ first: String, _ second: String) {
        self.dimension = dimension
        self.poles = (first, second)
    }
}
