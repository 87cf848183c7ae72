/// Per-token attributes, as llama.cpp derives them from `tokenizer.ggml.token_type` (bit values as
/// in llama.cpp's `llama_token_attr`). They decide which tokens are matched as whole units in raw
/// text (control, user-defined, unknown) and how a token renders back to bytes.
public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    public static let control = TokenAttributes(rawValue: 1 << 3)
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    public static let byte = TokenAttributes(rawValue: 1 << 5)

    /// Tokens whose text is cut out of raw input before the subword algorithm runs.
    static let special: TokenAttributes = [.control, .userDefined, .unknown]

    /// From the GGUF token type (llama.cpp's `llama_token_type`: 0 undefined, 1 normal, 2 unknown,
    /// 3 control, 4 user-defined, 5 unused, 6 byte).
    init(tokenType: Int) {
        switch tokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }
}
