import Foundation

extension PunktParameters {
    /// NLTK's own model from a `punkt_tab/<language>` directory (abbrev_types.txt,
    /// collocations.tab, sent_starters.txt, ortho_context.tab), for exact sentence splits where
    /// that data is installed.
    public static func load(punktTabDirectory directory: URL) throws(IFEvalError) -> PunktParameters {
        func lines(_ name: String) throws(IFEvalError) -> [String] {
            let url = directory.appendingPathComponent(name)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw IFEvalError("cannot read \(url.path) (a punkt_tab model directory has abbrev_types.txt, collocations.tab, sent_starters.txt, ortho_context.tab)")
            }
            return text.components(separatedBy: "\n").filter { !$0.isEmpty }
        }
        let abbreviations = Set(try lines("abbrev_types.txt"))
        let starters = Set(try lines("sent_starters.txt"))
        let collocations = Set(try lines("collocations.tab").map { $0.components(separatedBy: "\t") }.filter { $0.count == 2 })
        var orthography: [String: Int] = [:]
        for line in try lines("ortho_context.tab") {
            let fields = line.components(separatedBy: "\t")
            guard fields.count == 2, let flags = Int(fields[1]) else {
                throw IFEvalError("\(directory.path)/ortho_context.tab: bad line '\(line.prefix(60))'")
            }
            orthography[fields[0]] = flags
        }
        let table = orthography
        return PunktParameters(abbreviations: abbreviations, sentenceStarters: starters, collocations: collocations,
                               orthography: { table[$0] ?? 0 })
    }

    /// Where NLTK's English model is installed, looking where NLTK does (`$NLTK_DATA`,
    /// `~/nltk_data`, `/usr/share/nltk_data`, `/usr/local/share/nltk_data`); nil when nowhere.
    public static func installedEnglishDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        var roots = (environment["NLTK_DATA"] ?? "").split(separator: ":").map(String.init)
        roots += [NSHomeDirectory() + "/nltk_data", "/usr/share/nltk_data", "/usr/local/share/nltk_data"]
        return roots.map { URL(fileURLWithPath: $0).appendingPathComponent("tokenizers/punkt_tab/english") }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("ortho_context.tab").path) }
    }
}
