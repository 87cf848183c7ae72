/// Turns token ids into text one token at a time, for streaming generation output.
///
/// A token can end in the middle of a UTF-8 character (byte-fallback tokens such as `<0xF0>`, or
/// byte-level BPE tokens holding part of an emoji); those bytes are held back until the character is
/// complete, so each call returns only whole characters and the concatenation of all calls plus
/// `finish()` equals decoding the bytes of all pieces at once.
public struct StreamingDecoder: Sendable {
    public let tokenizer: Tokenizer
    public let renderSpecial: Bool
    private var pending: [UInt8] = []

    /// - Parameter renderSpecial: render control tokens as their text (llama.cpp `special = true`).
    public init(tokenizer: Tokenizer, renderSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Bytes held back because they may start a character that later tokens complete.
    public var pendingByteCount: Int { pending.count }

    /// Adds one token; returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int32) throws(TokenizerError) -> String {
        guard id >= 0 && Int(id) < tokenizer.vocabularySize else {
            throw .tokenOutOfRange(id: id, vocabularySize: tokenizer.vocabularySize)
        }
        pending.append(contentsOf: tokenizer.pieceSlice(id, renderSpecial: renderSpecial))
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Ends the stream: any incomplete character left becomes U+FFFD, as a whole decode would give.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the prefix that can be decoded now. Only a trailing sequence that is a valid but
    /// unfinished start of a character is held back; it begins at a lead byte, where UTF-8 decoding
    /// (including U+FFFD replacement of bad bytes) always restarts, so splitting there changes nothing.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var start = n - 1
        // Find the last lead byte within the final 4 bytes.
        while start >= 0 && start >= n - 4 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 && start >= n - 4 else { return n }
        let lead = bytes[start]
        let need: Int
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: return n  // ASCII or a byte that can never start a character
        }
        let have = n - start
        if have >= need { return n }
        // The continuation bytes present must be ones that can still complete this lead.
        for k in 1..<have {
            let b = bytes[start + k]
            let (lo, hi): (UInt8, UInt8) = k == 1 ? secondByteRange(lead) : (0x80, 0xBF)
            if b < lo || b > hi { return n }
        }
        return start
    }

    private static func secondByteRange(_ lead: UInt8) -> (UInt8, UInt8) {
        switch lead {
        case 0xE0: (0xA0, 0xBF)
        case 0xED: (0x80, 0x9F)
        case 0xF0: (0x90, 0xBF)
        case 0xF4: (0x80, 0x8F)
        default: (0x80, 0xBF)
        }
    }
}
