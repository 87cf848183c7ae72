/// Why a tokenizer could not be built from a model's metadata, or why ids could not be decoded.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file has no `tokenizer.ggml.model` or no token list: it carries no vocabulary.
    case missingMetadata(key: String)
    /// A tokenizer key holds the wrong kind of value (for example scores that are not numbers).
    case invalidMetadata(key: String, reason: String)
    /// `tokenizer.ggml.model` names a tokenizer family this runtime does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer (word splitting rule) this runtime does not implement.
    case unsupportedPreTokenizer(String)
    /// The vocabulary lists the same token text twice; lookups by text would be ambiguous.
    case duplicateToken(text: String, firstID: Int32, secondID: Int32)
    /// The model's `tokenizer.chat_template` is not one of the families rdic renders.
    case unsupportedChatTemplate(String)
    /// A token id given to the decoder is not in the vocabulary.
    case tokenOutOfRange(id: Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case .missingMetadata(let key):
            "the model file has no tokenizer: metadata key '\(key)' is missing"
        case .invalidMetadata(let key, let reason):
            "invalid tokenizer metadata '\(key)': \(reason)"
        case .unsupportedModel(let name):
            "unsupported tokenizer model '\(name)' (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE)"
        case .unsupportedPreTokenizer(let name):
            "unsupported pre-tokenizer '\(name)' (supported: \(PreTokenizer.supportedNames.joined(separator: ", ")))"
        case .duplicateToken(let text, let first, let second):
            "duplicate token in vocabulary: '\(text)' has ids \(first) and \(second)"
        case .unsupportedChatTemplate(let excerpt):
            "unsupported chat template (not Gemma, Llama 3 or ChatML): \(excerpt.debugDescription)"
        case .tokenOutOfRange(let id, let size):
            "token id \(id) is out of range (vocabulary has \(size) tokens)"
        }
    }
}
