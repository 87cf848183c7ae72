import Foundation

/// The two text checks of validation: does the final query ask for both versions, and do two
/// instructions actually say different things.
enum QueryCheck {
    static let bothMarkers = ["both", "two versions", "two ", "each version", "each of", "separately", "side by side",
                              "one version", "second version", "respectively", "two separate"]

    /// True when the query asks for two outputs: an explicit marker, or both cluster labels named.
    static func asksForBoth(_ query: String, clusters: [String]) -> Bool {
        let text = query.lowercased()
        if bothMarkers.contains(where: text.contains) { return true }
        let named = clusters.filter { text.contains($0.replacingOccurrences(of: "_", with: " ")) || text.contains($0) }
        return clusters.count == 2 && named.count == 2
    }

    /// Why `text` is not readable prose, or nil when it is.
    static func unreadable(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let first = trimmed.first, let last = trimmed.last else { return nil } // turn_fields reports it
        if first.isLetter, !first.isUppercase { return "does not start a sentence" }
        if !".!?\"\u{201D})".contains(last) { return "does not end a sentence" }
        if trimmed.contains("\u{2026}") || trimmed.contains(" ...") || trimmed.contains("... ") { return "contains an ellipsis splice" }
        return nil
    }

    /// Why `a` and `b` count as the same instruction (identical after normalising, or 80% of
    /// their words shared), or nil when they differ.
    static func tooSimilar(_ a: String, _ b: String) -> String? {
        let x = words(a), y = words(b)
        if x == y { return "identical text" }
        let setX = Set(x), setY = Set(y)
        let overlap = Double(setX.intersection(setY).count) / Double(max(1, setX.union(setY).count))
        return overlap >= 0.8 ? "\(Int(overlap * 100))% of their words are shared" : nil
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }
}
