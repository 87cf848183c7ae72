import Foundation

/// A compiled ICU pattern with the few Python `re` operations the reference checkers use.
///
/// ICU and Python's `re` agree on every construct used here (classes, lookarounds, possessive
/// quantifiers); Unix line mode makes `.`, `^` and `$` treat only `\n` as a line end, as Python does.
struct PyRegex: @unchecked Sendable {
    let regex: NSRegularExpression

    init(_ pattern: String, caseInsensitive: Bool = false, multiline: Bool = false) {
        var options: NSRegularExpression.Options = [.useUnixLineSeparators]
        if caseInsensitive { options.insert(.caseInsensitive) }
        if multiline { options.insert(.anchorsMatchLines) }
        // Patterns are literals of this module or escaped user text; a failure is a programming error.
        regex = try! NSRegularExpression(pattern: pattern, options: options)
    }

    /// A pattern built from user text (a keyword), or nil when ICU rejects it.
    static func user(_ pattern: String, caseInsensitive: Bool = false, multiline: Bool = false) -> PyRegex? {
        var options: NSRegularExpression.Options = [.useUnixLineSeparators]
        if multiline { options.insert(.anchorsMatchLines) }
        if caseInsensitive { options.insert(.caseInsensitive) }
        guard let regex = try? NSRegularExpression(pattern: pattern, options: options) else { return nil }
        return PyRegex(regex: regex)
    }

    private init(regex: NSRegularExpression) { self.regex = regex }

    func matches(in text: String) -> [NSTextCheckingResult] {
        regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
    }

    /// `re.findall` for a pattern without groups.
    func findAll(_ text: String) -> [String] {
        let ns = text as NSString
        return matches(in: text).map { ns.substring(with: $0.range) }
    }

    func count(_ text: String) -> Int {
        regex.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text))
    }

    /// `re.search(...) is not None`.
    func contains(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// `re.match`: a match anchored at the start of `text`.
    func prefixMatch(_ text: String) -> NSTextCheckingResult? {
        regex.firstMatch(in: text, options: .anchored, range: NSRange(text.startIndex..., in: text))
    }

    /// `re.sub` with an ICU template (`$1`, `$0`).
    func replace(_ text: String, with template: String) -> String {
        regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
    }

    /// `re.split` for a pattern without groups.
    func split(_ text: String) -> [String] {
        let ns = text as NSString
        var pieces: [String] = []
        var start = 0
        for match in matches(in: text) {
            pieces.append(ns.substring(with: NSRange(location: start, length: match.range.location - start)))
            start = match.range.location + match.range.length
        }
        pieces.append(ns.substring(from: start))
        return pieces
    }
}
