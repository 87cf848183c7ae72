import Foundation

/// Python `str` predicates and transforms, with Python's Unicode semantics, for the checkers to
/// mean what the reference's `value.isupper()` or `value.strip()` mean.
enum PythonText {
    /// `str.isupper()`: at least one cased character and no lowercase or titlecase one.
    static func isUpper(_ text: String) -> Bool { allCased(text, as: \.isUppercase, not: \.isLowercase) }

    /// `str.islower()`: at least one cased character and no uppercase or titlecase one.
    static func isLower(_ text: String) -> Bool { allCased(text, as: \.isLowercase, not: \.isUppercase) }

    private static func allCased(_ text: String, as wanted: KeyPath<Unicode.Scalar.Properties, Bool>,
                                 not unwanted: KeyPath<Unicode.Scalar.Properties, Bool>) -> Bool {
        var cased = false
        for scalar in text.unicodeScalars {
            let p = scalar.properties
            if p[keyPath: unwanted] || p.generalCategory == .titlecaseLetter { return false }
            if p[keyPath: wanted] { cased = true }
        }
        return cased
    }

    /// `str.isspace()` for one code point.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.strip()`.
    static func strip(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[first...last])
        return String(view)
    }

    static func strip(_ text: String, characters: Set<Unicode.Scalar>) -> String {
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !characters.contains($0) }),
              let last = scalars.lastIndex(where: { !characters.contains($0) }) else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[first...last])
        return String(view)
    }

    static func lstrip(_ text: String, characters: Set<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: text.unicodeScalars.drop(while: { characters.contains($0) }))
        return String(view)
    }

    static func rstrip(_ text: String, characters: Set<Unicode.Scalar>) -> String {
        var scalars = Array(text.unicodeScalars)
        while let last = scalars.last, characters.contains(last) { scalars.removeLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// `str.split()` without arguments: runs of whitespace separate, empty pieces dropped.
    static func splitWhitespace(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isSpace(scalar) {
                if !current.isEmpty { pieces.append(String(current)); current = .init() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { pieces.append(String(current)) }
        return pieces
    }

    /// `str.split(separator)`, on code points: "\r\n" is two characters to Python.
    static func split(_ text: String, separator: String) -> [String] {
        (text as NSString).components(separatedBy: separator)
    }

    /// `str.lower()`.
    static func lower(_ text: String) -> String { text.lowercased() }

    /// `str.startswith` / `endswith` on code points (Swift's compare graphemes).
    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        text.unicodeScalars.starts(with: prefix.unicodeScalars)
    }

    static func hasSuffix(_ text: String, _ suffix: String) -> Bool {
        text.unicodeScalars.reversed().starts(with: suffix.unicodeScalars.reversed())
    }

    static func removePrefix(_ text: String, _ prefix: String) -> String {
        guard hasPrefix(text, prefix) else { return text }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: text.unicodeScalars.dropFirst(prefix.unicodeScalars.count))
        return String(view)
    }

    static func removeSuffix(_ text: String, _ suffix: String) -> String {
        guard hasSuffix(text, suffix) else { return text }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: text.unicodeScalars.dropLast(suffix.unicodeScalars.count))
        return String(view)
    }
}
