/// A stand-in for `langdetect`, which the reference asks for a response's language.
///
/// langdetect is a statistical n-gram model whose profiles are not shipped here (and it is not
/// even deterministic across runs without a seed), so exact agreement is impossible. This guesser
/// decides by script, then for Latin and Cyrillic text by common function words and letters
/// particular to one language. It returns nil where langdetect raises (no letters at all), which
/// the reference counts as the instruction followed. Agreement is measured by the fixture tests.
public enum LanguageGuesser {
    public static func detect(_ text: String) -> String? {
        var scripts: [String: Int] = [:]
        for scalar in text.unicodeScalars where scalar.properties.isAlphabetic {
            scripts[script(of: scalar), default: 0] += 1
        }
        guard let (top, _) = scripts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else {
            return nil
        }
        let lower = text.lowercased()
        switch top {
        case "latin": return latinLanguage(lower)
        case "cyrillic": return cyrillicLanguage(lower)
        case "arabic": return arabicLanguage(lower)
        case "devanagari": return devanagariLanguage(lower)
        case "kana": return "ja"
        case "han": return scripts["kana", default: 0] > 0 ? "ja" : "zh-cn"
        default: return top
        }
    }

    private static func script(of scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x0000...0x024F, 0x1E00...0x1EFF: "latin"
        case 0x0370...0x03FF: "el"
        case 0x0400...0x04FF: "cyrillic"
        case 0x0590...0x05FF: "he"
        case 0x0600...0x06FF, 0x0750...0x077F, 0xFB50...0xFEFF: "arabic"
        case 0x0900...0x097F: "devanagari"
        case 0x0980...0x09FF: "bn"
        case 0x0A00...0x0A7F: "pa"
        case 0x0A80...0x0AFF: "gu"
        case 0x0B80...0x0BFF: "ta"
        case 0x0C00...0x0C7F: "te"
        case 0x0C80...0x0CFF: "kn"
        case 0x0D00...0x0D7F: "ml"
        case 0x0E00...0x0E7F: "th"
        case 0x3040...0x30FF: "kana"
        case 0x4E00...0x9FFF, 0x3400...0x4DBF: "han"
        case 0xAC00...0xD7AF, 0x1100...0x11FF: "ko"
        default: "other"
        }
    }

    private static let latinWords: [String: Set<String>] = [
        "en": ["the", "and", "is", "are", "of", "to", "in", "it", "that", "this", "with", "for", "you", "was", "be", "have", "not", "on", "as", "at", "by", "from", "or", "an", "we", "they", "will", "can", "would", "should", "which", "there", "their", "what", "about", "your", "i", "my", "a", "he", "she", "his", "her", "said", "then", "were", "has", "had", "do", "does", "did", "but", "if", "so", "all", "one", "our", "us", "them", "who", "when", "how", "why", "where", "here", "some", "any", "no", "yes", "it's", "don't", "i'm", "just", "very", "also", "into", "over", "after", "because", "these", "those", "nobody", "everyone", "me", "him"],
        "es": ["el", "la", "los", "las", "de", "que", "y", "en", "es", "un", "una", "por", "con", "para", "no", "se", "del", "al", "lo", "como", "más", "pero", "su", "sus", "muy", "está", "son", "este", "esta", "también", "hay", "yo"],
        "pt": ["o", "a", "os", "as", "de", "que", "e", "em", "é", "um", "uma", "do", "da", "dos", "das", "para", "com", "não", "no", "na", "por", "se", "mais", "mas", "muito", "você", "isso", "são", "está", "também", "ao", "eu"],
        "fr": ["le", "la", "les", "de", "des", "du", "et", "est", "un", "une", "que", "qui", "dans", "pour", "pas", "ne", "sur", "avec", "il", "elle", "nous", "vous", "ce", "cette", "sont", "au", "aux", "mais", "je", "très", "aussi", "être"],
        "de": ["der", "die", "das", "und", "ist", "nicht", "ein", "eine", "zu", "den", "dem", "mit", "von", "sich", "auf", "für", "ich", "sie", "es", "wir", "auch", "sind", "wird", "bei", "aus", "oder", "aber", "wie", "sehr", "noch", "nach"],
        "it": ["il", "lo", "la", "gli", "le", "di", "che", "e", "è", "un", "una", "per", "non", "sono", "con", "del", "della", "dei", "nel", "nella", "si", "anche", "come", "ma", "più", "molto", "questo", "questa", "io", "ho"],
        "pl": ["i", "w", "na", "nie", "się", "jest", "to", "że", "z", "do", "jak", "ale", "tak", "co", "po", "od", "są", "czy", "dla", "przez", "bardzo", "być", "jestem"],
        "fi": ["ja", "on", "ei", "että", "se", "ovat", "oli", "mutta", "kun", "tai", "myös", "hän", "me", "te", "he", "minä", "sinä", "olen", "ole", "kanssa", "tämä", "joka"],
        "sw": ["na", "ya", "wa", "ni", "kwa", "za", "la", "katika", "hii", "kuwa", "sana", "yake", "kama", "lakini", "pia", "wao", "mimi", "wewe", "sisi", "hapa", "kila"],
        "vi": ["và", "là", "của", "có", "không", "được", "các", "những", "một", "người", "cho", "này", "với", "trong", "đã", "để", "rất", "tôi", "chúng", "bạn"],
        "nl": ["de", "het", "een", "en", "van", "is", "niet", "dat", "op", "te", "zijn", "met", "voor", "ik", "je", "ook", "maar", "er", "wat", "nog"],
    ]

    private static func latinLanguage(_ text: String) -> String {
        let words = text.split(whereSeparator: { !$0.isLetter && $0 != "'" }).map(String.init)
        var scores: [String: Int] = [:]
        for word in words {
            for (language, list) in latinWords where list.contains(word) { scores[language, default: 0] += 1 }
        }
        if text.contains(where: { "ăơưđ".contains($0) }) { scores["vi", default: 0] += 3 }
        if text.contains(where: { "ąęłńśźż".contains($0) }) { scores["pl", default: 0] += 3 }
        if text.contains(where: { "ãõç".contains($0) }) { scores["pt", default: 0] += 2 }
        if text.contains(where: { "ñ¿¡".contains($0) }) { scores["es", default: 0] += 2 }
        if text.contains(where: { "ß".contains($0) }) { scores["de", default: 0] += 2 }
        let best = scores.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }
        return best?.key ?? "en"
    }

    private static func cyrillicLanguage(_ text: String) -> String {
        if text.contains(where: { "іїєґ".contains($0) }) { return "uk" }
        if !text.contains(where: { "ыэё".contains($0) }), text.contains("ъ") { return "bg" }
        return "ru"
    }

    private static func arabicLanguage(_ text: String) -> String {
        if text.contains(where: { "ٹڈڑںےھ".contains($0) }) { return "ur" }
        if text.contains(where: { "پچژگی".contains($0) }) { return "fa" }
        return "ar"
    }

    private static func devanagariLanguage(_ text: String) -> String {
        let words = Set(text.split(whereSeparator: { $0.isWhitespace || $0.isPunctuation }).map(String.init))
        if words.contains("आहे") || words.contains("आणि") { return "mr" }
        if words.contains("छ") || words.contains("हो") || words.contains("र") { return "ne" }
        return "hi"
    }
}
