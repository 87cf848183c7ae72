/// Splits text into words before byte-level BPE runs on each word, as `tokenizer.ggml.pre` says.
///
/// The upstream tokenizers define these splits as regular expressions with Unicode classes. Like
/// llama.cpp's unicode.cpp, they are written out by hand here over code points and their category
/// flags: Swift's Regex is slow and lacks some of the classes, and the hand-written scanners must
/// reproduce llama.cpp's exact word boundaries (including its quirks, such as `\s+(?!\S)` leaving the
/// last space of a run for the next word).
struct PreTokenizer: Sendable {
    enum Rule: Sendable {
        /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// Llama 3: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`, ...
        case llama3
        /// Qwen 2: the Llama 3 rule with single digits (`\p{N}` instead of `\p{N}{1,3}`).
        case qwen2
        /// StarCoder / SmolLM: every digit alone (`\p{N}`), then the GPT-2 rule.
        case isolatedDigitsThenGPT2
        /// llama.cpp's fallback for BPE models: punctuation runs, GPT-2 rule, digit runs, then
        /// groups of three ASCII digits.
        case llamaDefault
    }

    let name: String
    let rule: Rule
    /// Whether decoding removes the space before `?!.,` and some apostrophes (llama.cpp `clean_spaces`).
    let cleanSpaces: Bool
    /// Whether a word that is already a token skips merging (llama.cpp `ignore_merges`).
    let ignoresMerges: Bool
    /// Whether BOS is added by default before metadata is consulted (Llama 3 does).
    let forcesBOS: Bool

    private static let llama3Names = ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                                      "midm-2.0", "lfm2", "jina-v5-nano"]
    private static let llama3RegexNames = ["dbrx", "smaug-bpe"]
    private static let qwen2Names = ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez"]
    private static let digitNames = ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone",
                                     "minerva-7b", "mellum2"]
    private static let gpt2Names = ["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                                    "a.x-4.0", "mellum", "modern-bert", "mpt", "olmo", "jais", "exaone4"]
    static let supportedNames = ["default"] + llama3Names + llama3RegexNames + qwen2Names + digitNames + gpt2Names

    init?(name: String) {
        self.name = name
        var clean = true, ignore = false, bos = false
        if name == "default" || name.isEmpty {
            rule = .llamaDefault
        } else if Self.llama3Names.contains(name) {
            rule = .llama3; ignore = true; bos = true
        } else if Self.llama3RegexNames.contains(name) {
            rule = .llama3
        } else if Self.qwen2Names.contains(name) {
            rule = .qwen2
            clean = ["stablelm2", "megrez"].contains(name)
        } else if Self.digitNames.contains(name) {
            rule = .isolatedDigitsThenGPT2
            clean = !["smollm", "command-r"].contains(name)
        } else if Self.gpt2Names.contains(name) {
            rule = .gpt2
        } else {
            return nil
        }
        cleanSpaces = clean; ignoresMerges = ignore; forcesBOS = bos
    }

    /// Byte ranges of the words of `bytes` (valid UTF-8), in order, covering all of it.
    func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        let text = CodepointText(bytes)
        var segments = [0..<text.count]
        switch rule {
        case .gpt2:
            segments = text.gpt2(segments)
        case .llama3:
            segments = text.llama3(segments)
        case .qwen2:
            segments = text.llama3(segments, digitGroup: 1)
        case .isolatedDigitsThenGPT2:
            segments = text.isolate(segments, text.collapsedNumber)
            segments = text.gpt2(segments)
        case .llamaDefault:
            segments = text.runs(segments, text.defaultPunctuation)
            segments = text.gpt2(segments)
            segments = text.runs(segments, text.collapsedNumber)
            segments = text.asciiDigitTriples(segments)
        }
        return segments.map { text.offsets[$0.lowerBound]..<text.offsets[$0.upperBound] }
    }
}

/// Code points of a UTF-8 text with their flags and byte offsets; word splitting works on indices.
struct CodepointText {
    var cps: [UInt32] = []
    var flags: [CodepointFlags] = []
    /// Byte offset of each code point, plus the total length at the end.
    var offsets: [Int] = []
    var count: Int { cps.count }
    static let outOfRange: UInt32 = 0xFFFF_FFFF

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        cps.reserveCapacity(bytes.count)
        flags.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), n: Int, v: UInt32
            if b0 < 0x80 { n = 1; v = b0 }
            else if b0 < 0xE0 { n = 2; v = b0 & 0x1F }
            else if b0 < 0xF0 { n = 3; v = b0 & 0x0F }
            else { n = 4; v = b0 & 0x07 }
            var c = v
            for k in 1..<max(n, 1) where i + k < bytes.count { c = c << 6 | (UInt32(bytes[i + k]) & 0x3F) }
            offsets.append(i)
            let scalar = Unicode.Scalar(c) ?? "\u{FFFD}"
            cps.append(scalar.value)
            flags.append(CodepointFlags.of(scalar))
            i += n
        }
        offsets.append(bytes.count)
    }

    // MARK: single-class splits (llama.cpp runs these through std::regex on a collapsed text)

    /// `\p{N}` as llama.cpp's collapsed regex sees it: ASCII digits, or non-ASCII non-space numbers.
    func collapsedNumber(_ i: Int) -> Bool {
        cps[i] < 128 ? (cps[i] >= 0x30 && cps[i] <= 0x39) : (flags[i].isNumber && !flags[i].isWhitespace)
    }

    /// `[\p{P}\$\+<=>\^~\|]` as llama.cpp's collapsed regex sees it.
    func defaultPunctuation(_ i: Int) -> Bool {
        let c = cps[i]
        if c < 128 {
            switch UInt8(c) {
            case 0x21...0x23, 0x25...0x2A, 0x2C...0x2F, 0x3A, 0x3B, 0x3F, 0x40, 0x5B...0x5D, 0x5F, 0x7B, 0x7D,
                 0x24, 0x2B, 0x3C...0x3E, 0x5E, 0x7E, 0x7C: return true
            default: return false
            }
        }
        return flags[i].contains(.punctuation) && !flags[i].isWhitespace
    }

    /// Each code point matching `match` becomes its own word (a regex of one class, no quantifier).
    func isolate(_ segments: [Range<Int>], _ match: (Int) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(segments.count * 2)
        for seg in segments {
            var start = seg.lowerBound
            for i in seg where match(i) {
                if i > start { out.append(start..<i) }
                out.append(i..<(i + 1))
                start = i + 1
            }
            if start < seg.upperBound { out.append(start..<seg.upperBound) }
        }
        return out
    }

    /// Each maximal run of code points matching `match` becomes its own word (`[class]+`).
    func runs(_ segments: [Range<Int>], _ match: (Int) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for seg in segments {
            var start = seg.lowerBound, i = seg.lowerBound
            while i < seg.upperBound {
                guard match(i) else { i += 1; continue }
                var j = i + 1
                while j < seg.upperBound && match(j) { j += 1 }
                if i > start { out.append(start..<i) }
                out.append(i..<j)
                start = j; i = j
            }
            if start < seg.upperBound { out.append(start..<seg.upperBound) }
        }
        return out
    }

    /// `[0-9][0-9][0-9]`, matched left to right without overlap.
    func asciiDigitTriples(_ segments: [Range<Int>]) -> [Range<Int>] {
        func digit(_ i: Int) -> Bool { cps[i] >= 0x30 && cps[i] <= 0x39 }
        var out: [Range<Int>] = []
        for seg in segments {
            var start = seg.lowerBound, i = seg.lowerBound
            while i + 3 <= seg.upperBound {
                if digit(i) && digit(i + 1) && digit(i + 2) {
                    if i > start { out.append(start..<i) }
                    out.append(i..<(i + 3))
                    i += 3; start = i
                } else {
                    i += 1
                }
            }
            if start < seg.upperBound { out.append(start..<seg.upperBound) }
        }
        return out
    }
}
