/// NLTK's `word_tokenize` (Punkt sentences, then the improved Treebank tokenizer on each), which
/// the reference uses to count words in capital letters.
public struct WordTokenizer: Sendable {
    public var sentences: PunktSentenceTokenizer

    public init(sentences: PunktSentenceTokenizer = .init()) {
        self.sentences = sentences
    }

    public func tokenize(_ text: String) -> [String] {
        sentences.sentences(text).flatMap(Self.treebank)
    }

    private typealias Rule = (PyRegex, String)

    private static let startingQuotes: [Rule] = [
        (PyRegex("([«“‘„]|[`]+)"), " $1 "),
        (PyRegex(#"^\""#), "``"),
        (PyRegex("(``)"), " $1 "),
        (PyRegex(#"([ \(\[{<])(\"|\'{2})"#), "$1 `` "),
        (PyRegex(#"(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)"#, caseInsensitive: true), "$1 "),
    ]
    private static let punctuation: [Rule] = [
        (PyRegex(#"([^\.])(\.)([\]\)}>"'»”’ ]*+)\s*$"#), "$1 $2 $3 "),
        (PyRegex(#"([:,])([^\d])"#), " $1 $2"),
        (PyRegex(#"([:,])$"#), " $1 "),
        (PyRegex(#"\.{2,}"#), " $0 "),
        (PyRegex("[;@#\\$%&]"), " $0 "),
        (PyRegex("[\\u2012-\\u2015]"), " $0 "),
        (PyRegex(#"([^\.])(\.)([\]\)}>"\']*)\s*$"#), "$1 $2$3 "),
        (PyRegex("[?!]"), " $0 "),
        (PyRegex("([^'])' "), "$1 ' "),
        (PyRegex("[*]"), " $0 "),
    ]
    private static let parensBrackets: Rule = (PyRegex(#"[\]\[\(\)\{\}\<\>]"#), " $0 ")
    private static let doubleDashes: Rule = (PyRegex("--"), " -- ")
    private static let endingQuotes: [Rule] = [
        (PyRegex("([»”’])"), " $1 "),
        (PyRegex("''"), " '' "),
        (PyRegex("\""), " '' "),
        (PyRegex(#"\s+"#), " "),
        (PyRegex("([^' ])('[sS]|'[mM]|'[dD]|') "), "$1 $2 "),
        (PyRegex("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), "$1 $2 "),
    ]
    private static let contractions: [Rule] = [
        #"\b(can)(not)\b"#, #"\b(d)('ye)\b"#, #"\b(gim)(me)\b"#, #"\b(gon)(na)\b"#, #"\b(got)(ta)\b"#,
        #"\b(lem)(me)\b"#, #"\b(more)('n)\b"#, #"\b(wan)(na)(?=\s)"#, #" ('t)(is)\b"#, #" ('t)(was)\b"#,
    ].map { (PyRegex($0, caseInsensitive: true), " $1 $2 ") }

    static func treebank(_ sentence: String) -> [String] {
        var text = sentence
        for (regex, template) in startingQuotes + punctuation + [parensBrackets, doubleDashes] {
            text = regex.replace(text, with: template)
        }
        text = " " + text + " "
        for (regex, template) in endingQuotes + contractions {
            text = regex.replace(text, with: template)
        }
        return PythonText.splitWhitespace(text)
    }
}
