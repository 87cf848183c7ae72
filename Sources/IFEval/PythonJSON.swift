/// Whether Python's `json.loads` accepts a text: standard JSON plus `NaN`, `Infinity` and
/// `-Infinity`, any value at the top level, no control characters inside strings.
enum PythonJSON {
    static func isValid(_ text: String) -> Bool {
        var parser = Parser(units: Array(text.unicodeScalars))
        parser.skipWhitespace()
        guard parser.value() else { return false }
        parser.skipWhitespace()
        return parser.index == parser.units.count
    }

    private struct Parser {
        let units: [Unicode.Scalar]
        var index = 0

        var current: Unicode.Scalar? { index < units.count ? units[index] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let scalars = Array(word.unicodeScalars)
            guard index + scalars.count <= units.count, Array(units[index..<index + scalars.count]) == scalars else {
                return false
            }
            index += scalars.count
            return true
        }

        mutating func value() -> Bool {
            guard let c = current else { return false }
            switch c {
            case "{": return object()
            case "[": return array()
            case "\"": return string()
            case "t": return literal("true")
            case "f": return literal("false")
            case "n": return literal("null")
            case "N": return literal("NaN")
            case "I": return literal("Infinity")
            case "-":
                if index + 1 < units.count, units[index + 1] == "I" { return literal("-Infinity") }
                return number()
            default: return number()
            }
        }

        mutating func digits() -> Int {
            let start = index
            while let c = current, ("0"..."9").contains(c) { index += 1 }
            return index - start
        }

        mutating func number() -> Bool {
            if current == "-" { index += 1 }
            guard let first = current, ("0"..."9").contains(first) else { return false }
            if first == "0" { index += 1 } else { _ = digits() }
            if current == ".", index + 1 < units.count, ("0"..."9").contains(units[index + 1]) {
                index += 1
                _ = digits()
            }
            if current == "e" || current == "E" {
                let save = index
                index += 1
                if current == "+" || current == "-" { index += 1 }
                if digits() == 0 { index = save }
            }
            return true
        }

        mutating func string() -> Bool {
            index += 1
            while let c = current {
                index += 1
                switch c {
                case "\"": return true
                case "\\":
                    guard let escaped = current else { return false }
                    index += 1
                    if escaped == "u" {
                        for _ in 0..<4 {
                            guard let h = current, h.properties.isASCIIHexDigit else { return false }
                            index += 1
                        }
                    } else if !"\"\\/bfnrt".unicodeScalars.contains(escaped) {
                        return false
                    }
                default:
                    if c.value < 0x20 { return false }
                }
            }
            return false
        }

        mutating func array() -> Bool {
            index += 1
            skipWhitespace()
            if current == "]" { index += 1; return true }
            while true {
                skipWhitespace()
                guard value() else { return false }
                skipWhitespace()
                if current == "," { index += 1; continue }
                if current == "]" { index += 1; return true }
                return false
            }
        }

        mutating func object() -> Bool {
            index += 1
            skipWhitespace()
            if current == "}" { index += 1; return true }
            while true {
                skipWhitespace()
                guard current == "\"", string() else { return false }
                skipWhitespace()
                guard current == ":" else { return false }
                index += 1
                skipWhitespace()
                guard value() else { return false }
                skipWhitespace()
                if current == "," { index += 1; continue }
                if current == "}" { index += 1; return true }
                return false
            }
        }
    }
}
