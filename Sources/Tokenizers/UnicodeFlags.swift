/// Unicode category flags of a code point, as llama.cpp's `unicode_cpt_flags` groups them: one bit
/// per major general category (\p{N}, \p{L}, ...) plus White_Space. The pre-tokenizers test these
/// instead of running regular expressions.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 0x0001)
    static let number = CodepointFlags(rawValue: 0x0002)
    static let letter = CodepointFlags(rawValue: 0x0004)
    static let separator = CodepointFlags(rawValue: 0x0008)
    static let accentMark = CodepointFlags(rawValue: 0x0010)
    static let punctuation = CodepointFlags(rawValue: 0x0020)
    static let symbol = CodepointFlags(rawValue: 0x0040)
    static let control = CodepointFlags(rawValue: 0x0080)
    static let whitespace = CodepointFlags(rawValue: 0x0100)
    static let categories = CodepointFlags(rawValue: 0x00FF)

    @inline(__always) var isNumber: Bool { contains(.number) }
    @inline(__always) var isLetter: Bool { contains(.letter) }
    @inline(__always) var isWhitespace: Bool { contains(.whitespace) }
    /// Any flag set: false only for "outside the current word", like llama.cpp's empty flags.
    @inline(__always) var isDefined: Bool { rawValue != 0 }

    /// ASCII is looked up in a table; everything else asks the Unicode tables Swift ships.
    @inline(__always)
    static func of(_ scalar: Unicode.Scalar) -> CodepointFlags {
        scalar.value < 128 ? ascii[Int(scalar.value)] : compute(scalar)
    }

    private static let ascii: [CodepointFlags] = (0..<128).map { compute(Unicode.Scalar(UInt8($0))) }

    private static func compute(_ s: Unicode.Scalar) -> CodepointFlags {
        let p = s.properties
        var f: CodepointFlags
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f = .letter
        case .nonspacingMark, .spacingMark, .enclosingMark: f = .accentMark
        case .decimalNumber, .letterNumber, .otherNumber: f = .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: f = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: f = .symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: f = .separator
        case .control, .format, .surrogate, .privateUse: f = .control
        case .unassigned: f = .undefined
        @unknown default: f = .undefined
        }
        if p.isWhitespace { f.insert(.whitespace) }
        return f
    }
}
