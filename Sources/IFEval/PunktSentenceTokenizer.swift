import Foundation

/// NLTK's Punkt sentence splitter (nltk 3.10 `PunktSentenceTokenizer.tokenize`), which the
/// reference counts sentences with and runs before its word tokenizer.
///
/// Offsets are UTF-16, like `NSString`; Python's are code points, which agree wherever a slice is
/// taken here because every boundary sits next to ASCII punctuation or whitespace.
public struct PunktSentenceTokenizer: Sendable {
    public var parameters: PunktParameters

    public init(parameters: PunktParameters = .english) {
        self.parameters = parameters
    }

    private static let nonWord = #"(?:[)\";}\]\*:@\'\({\[\u2018\u2019\u201c\u201d\xab\xbb?!])"#
    private static let multiChar = #"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"#
    private static let wordStart = #"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"#
    private static let wordRegex = PyRegex(
        "(" + multiChar + "|(?=" + wordStart + #")\S+?(?=\s|$|"# + nonWord + "|" + multiChar
            + "|,(?=$|\\s|" + nonWord + "|" + multiChar + "))|\\S)")
    private static let periodContext = PyRegex(#"[.?!](?=("# + nonWord + #"|\s+(\S+)))"#)
    private static let realignment = PyRegex(
        #"["\')\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\s+|(?=--)|$)"#, multiline: true)

    /// The sentences of `text`, as `tokenize` returns them.
    public func sentences(_ text: String) -> [String] {
        let ns = text as NSString
        return spans(text).map { ns.substring(with: $0) }
    }

    public func count(_ text: String) -> Int { spans(text).count }

    func spans(_ text: String) -> [NSRange] {
        let ns = text as NSString
        let slices = slicesFromText(text, ns)
        var result: [NSRange] = []
        var realign = 0
        for (index, slice) in slices.enumerated() {
            let first = NSRange(location: slice.location + realign, length: max(0, slice.length - realign))
            guard index + 1 < slices.count else {
                if first.length > 0 { result.append(first) }
                continue
            }
            let second = slices[index + 1]
            let secondText = ns.substring(with: second)
            if let m = Self.realignment.prefixMatch(secondText) {
                let matched = (secondText as NSString).substring(with: m.range)
                let kept = (rstrip(matched) as NSString).length
                result.append(NSRange(location: first.location, length: second.location + kept - first.location))
                realign = m.range.location + m.range.length
            } else {
                realign = 0
                if first.length > 0 { result.append(first) }
            }
        }
        return result
    }

    private func slicesFromText(_ text: String, _ ns: NSString) -> [NSRange] {
        var slices: [NSRange] = []
        var lastBreak = 0
        for (match, context) in potentialEndContexts(text, ns) where containsSentenceBreak(context) {
            let end = match.range.location + match.range.length
            slices.append(NSRange(location: lastBreak, length: end - lastBreak))
            let next = match.range(at: 2)
            lastBreak = next.location != NSNotFound ? next.location : end
        }
        let stripped = (rstrip(text) as NSString).length
        slices.append(NSRange(location: lastBreak, length: max(0, stripped - lastBreak)))
        return slices
    }

    private func potentialEndContexts(_ text: String, _ ns: NSString) -> [(NSTextCheckingResult, String)] {
        var results: [(NSTextCheckingResult, String)] = []
        var previousSlice = NSRange(location: 0, length: 0)
        var previousMatch: NSTextCheckingResult?
        func context(_ match: NSTextCheckingResult, _ slice: NSRange) -> String {
            ns.substring(with: slice) + ns.substring(with: match.range) + ns.substring(with: match.range(at: 1))
        }
        for match in Self.periodContext.matches(in: text) {
            let previousStop = previousSlice.location + previousSlice.length
            let before = ns.substring(with: NSRange(location: previousStop, length: match.range.location - previousStop))
            var afterSpace = lastASCIIWhitespace(before)
            if afterSpace != 0 {
                afterSpace += previousStop + 1
            } else {
                afterSpace = previousSlice.location
            }
            let wordSlice = NSRange(location: afterSpace, length: match.range.location - afterSpace)
            if let previous = previousMatch, previousStop <= wordSlice.location {
                results.append((previous, context(previous, previousSlice)))
            }
            previousMatch = match
            previousSlice = wordSlice
        }
        if let previous = previousMatch {
            results.append((previous, context(previous, previousSlice)))
        }
        return results
    }

    /// Index of the last of " \t\n\r\v\f" in `text` (UTF-16), or 0 when there is none.
    private func lastASCIIWhitespace(_ text: String) -> Int {
        let units = Array(text.utf16)
        for i in stride(from: units.count - 1, through: 0, by: -1) where [9, 10, 11, 12, 13, 32].contains(units[i]) {
            return i
        }
        return 0
    }

    private func rstrip(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        while let last = scalars.last, PythonText.isSpace(last) { scalars.removeLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    // MARK: tokens and annotation

    func containsSentenceBreak(_ text: String) -> Bool {
        let tokens = annotate(words(text))
        var found = false
        for token in tokens {
            if found { return true }
            if token.sentenceBreak { found = true }
        }
        return false
    }

    func words(_ text: String) -> [PunktToken] {
        var tokens: [PunktToken] = []
        for line in PythonText.split(text, separator: "\n") where !PythonText.strip(line).isEmpty {
            tokens += Self.wordRegex.findAll(line).map(PunktToken.init)
        }
        return tokens
    }

    func annotate(_ input: [PunktToken]) -> [PunktToken] {
        var tokens = input
        for i in tokens.indices { firstPass(&tokens[i]) }
        for i in tokens.indices where i + 1 < tokens.count {
            secondPass(&tokens[i], next: tokens[i + 1])
        }
        return tokens
    }

    private func firstPass(_ token: inout PunktToken) {
        let tok = token.text
        if tok == "." || tok == "?" || tok == "!" {
            token.sentenceBreak = true
        } else if token.isEllipsis {
            token.ellipsis = true
        } else if token.periodFinal && !tok.hasSuffix("..") {
            let stem = String(tok.unicodeScalars.dropLast()).lowercased()
            let lastPart = stem.components(separatedBy: "-").last ?? stem
            if parameters.abbreviations.contains(stem) || parameters.abbreviations.contains(lastPart) {
                token.abbreviation = true
            } else {
                token.sentenceBreak = true
            }
        }
    }

    private func secondPass(_ token: inout PunktToken, next: PunktToken) {
        guard token.periodFinal else { return }
        let type = token.typeNoPeriod
        let nextType = next.typeNoSentencePeriod
        let isInitial = token.isInitial
        if parameters.collocations.contains([type, nextType]) {
            token.sentenceBreak = false
            token.abbreviation = true
            return
        }
        if (token.abbreviation || token.ellipsis) && !isInitial {
            let starter = orthographicHeuristic(next)
            if starter == .yes {
                token.sentenceBreak = true
                return
            }
            if next.firstUpper && parameters.sentenceStarters.contains(nextType) {
                token.sentenceBreak = true
                return
            }
        }
        if isInitial || type == "##number##" {
            let starter = orthographicHeuristic(next)
            if starter == .no {
                token.sentenceBreak = false
                token.abbreviation = true
                return
            }
            if starter == .unknown && isInitial && next.firstUpper
                && parameters.orthography(nextType) & PunktParameters.lower == 0 {
                token.sentenceBreak = false
                token.abbreviation = true
            }
        }
    }

    private enum Decision { case yes, no, unknown }

    private func orthographicHeuristic(_ token: PunktToken) -> Decision {
        if [";", ":", ",", ".", "!", "?"].contains(token.text) { return .no }
        let context = parameters.orthography(token.typeNoSentencePeriod)
        if token.firstUpper && context & PunktParameters.lower != 0 && context & PunktParameters.midUC == 0 {
            return .yes
        }
        if token.firstLower && (context & PunktParameters.upper != 0 || context & PunktParameters.begLC == 0) {
            return .no
        }
        return .unknown
    }
}

struct PunktToken {
    let text: String
    let type: String
    var sentenceBreak = false
    var abbreviation = false
    var ellipsis = false

    private static let numeric = PyRegex(#"^-?[\.,]?\d[\d,\.-]*\.?$"#)
    private static let ellipsisPattern = PyRegex(#"^\.\.+$"#)
    private static let initial = PyRegex(#"^[^\W\d]\.$"#)

    init(_ text: String) {
        self.text = text
        let lower = text.lowercased()
        type = Self.numeric.contains(lower) ? "##number##" : lower
    }

    var periodFinal: Bool { text.hasSuffix(".") }
    var isEllipsis: Bool { Self.ellipsisPattern.contains(text) }
    var isInitial: Bool { Self.initial.contains(text) }

    var typeNoPeriod: String {
        let scalars = type.unicodeScalars
        if scalars.count > 1, scalars.last == "." { return String(String.UnicodeScalarView(scalars.dropLast())) }
        return type
    }

    var typeNoSentencePeriod: String { sentenceBreak ? typeNoPeriod : type }

    var firstUpper: Bool { text.unicodeScalars.first.map { PythonText.isUpper(String($0)) } ?? false }
    var firstLower: Bool { text.unicodeScalars.first.map { PythonText.isLower(String($0)) } ?? false }
}
