import Foundation

// Fixed-format numbers (C locale, fixed digits) so reports are byte-identical across runs.

func formatRatio(_ value: Double) -> String { String(format: "%g", value) }

func fixed(_ value: Double?, _ digits: Int = 3) -> String {
    guard let value else { return "n/a" }
    return String(format: "%.\(digits)f", value)
}

func formatP(_ value: Double?) -> String {
    guard let value else { return "n/a" }
    return value < 0.0001 ? "<0.0001" : String(format: "%.4f", value)
}

/// Machine-readable numbers for CSV: six significant digits, empty when missing.
func csvNumber(_ value: Double?) -> String {
    guard let value else { return "" }
    return String(format: "%.6g", value)
}

func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

func csvLine(_ fields: [String]) -> String { fields.map(csvField).joined(separator: ",") + "\n" }

/// Mean with its interval, e.g. "0.625 [0.500, 0.750]".
func meanWithInterval(_ summary: GroupSummary?) -> String {
    guard let summary, let mean = summary.mean else { return "n/a" }
    guard let interval = summary.interval else { return fixed(mean) }
    return "\(fixed(mean)) [\(fixed(interval.lower)), \(fixed(interval.upper))]"
}

func escapeXML(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(c)
        }
    }
    return out
}

/// Markdown table cells must not contain pipes or newlines.
func markdownCell(_ text: String) -> String {
    text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
}

func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
    var out = "| " + header.map(markdownCell).joined(separator: " | ") + " |\n"
    out += "|" + header.map { _ in " --- |" }.joined() + "\n"
    for row in rows { out += "| " + row.map(markdownCell).joined(separator: " | ") + " |\n" }
    return out
}

/// A file-name-safe slug: letters, digits, '-', '_' and '.' kept, anything else '-'.
func slug(_ text: String) -> String {
    String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
}
