import GGUF

/// Text <-> token ids for a model, built from its GGUF tokenizer metadata, matching llama.cpp's
/// `llama_tokenize` / `llama_token_to_piece` / `llama_detokenize` token for token.
///
/// Immutable after construction and safe to share across tasks. Building it indexes the whole
/// vocabulary once (262,144 tokens for Gemma 3); encoding and decoding allocate only their output.
public final class Tokenizer: Sendable {
    let vocabulary: Vocabulary
    private let specials: SpecialTokenMatcher
    /// Each token's bytes as llama.cpp renders it with `special = true`, all in one buffer.
    private let pieceBytes: [UInt8]
    private let pieceStarts: [Int32]

    public convenience init(gguf: GGUFFile) throws(TokenizerError) {
        try self.init(metadata: gguf.metadata)
    }

    public init(metadata: GGUFMetadata) throws(TokenizerError) {
        let v = try Vocabulary(metadata: metadata)
        vocabulary = v
        specials = SpecialTokenMatcher(vocabulary: v)
        var bytes: [UInt8] = [], starts: [Int32] = [0]
        bytes.reserveCapacity(v.size * 8)
        starts.reserveCapacity(v.size + 1)
        for id in 0..<v.size {
            Self.renderPiece(v, Int32(id), into: &bytes)
            starts.append(Int32(bytes.count))
        }
        pieceBytes = bytes
        pieceStarts = starts
    }

    // MARK: facts about the vocabulary

    public var kind: TokenizerKind { vocabulary.kind }
    public var vocabularySize: Int { vocabulary.size }
    /// The pre-tokenizer name for BPE vocabularies (nil for SentencePiece).
    public var preTokenizerName: String? { vocabulary.preTokenizer?.name }
    public var bos: Int32? { vocabulary.bos }
    public var eos: Int32? { vocabulary.eos }
    /// End of turn (`<end_of_turn>`, `<|eot_id|>`, `<|im_end|>`...), from metadata or found by text.
    public var eot: Int32? { vocabulary.eot }
    /// Whether `encode` adds BOS by default (`tokenizer.ggml.add_bos_token`, else llama.cpp's default).
    public var addsBOS: Bool { vocabulary.addBOS }
    /// Every token that ends generation (llama.cpp's EOG set: eos, eot, eom and end-of-turn texts).
    public var endOfGenerationTokens: [Int32] { vocabulary.endOfGeneration.sorted() }

    public func isEndOfGeneration(_ id: Int32) -> Bool { vocabulary.endOfGeneration.contains(id) }

    public func attributes(of id: Int32) -> TokenAttributes {
        contains(id) ? vocabulary.attributes[Int(id)] : []
    }

    /// The raw vocabulary text of a token (for SentencePiece, with "▁" for spaces).
    public func text(of id: Int32) -> String? {
        contains(id) ? String(decoding: vocabulary.table.key(id), as: UTF8.self) : nil
    }

    /// The id of the token whose vocabulary text is exactly `text`.
    public func token(forText text: String) -> Int32? {
        vocabulary.table.find(Array(text.utf8)).flatMap { Int($0) < vocabulary.size ? $0 : nil }
    }

    func contains(_ id: Int32) -> Bool { id >= 0 && Int(id) < vocabulary.size }

    // MARK: encoding

    /// Token ids for `text`.
    /// - Parameters:
    ///   - addBOS: nil adds BOS (and EOS) as the model's metadata says, like llama.cpp's
    ///     `add_special = true`; false adds neither; true adds BOS even if the metadata does not.
    ///   - parseSpecial: whether control-token text such as `<start_of_turn>` becomes that token.
    ///     User-defined tokens are matched either way, as in llama.cpp.
    public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int32] {
        let utf8 = Array(text.utf8)
        return utf8.withUnsafeBufferPointer { encode($0, addBOS: addBOS, parseSpecial: parseSpecial) }
    }

    private func encode(_ bytes: UnsafeBufferPointer<UInt8>, addBOS: Bool?, parseSpecial: Bool) -> [Int32] {
        let v = vocabulary
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if let bos = v.bos, addBOS ?? v.addBOS { output.append(bos) }
        let fragments = specials.partition(bytes, parseSpecial: parseSpecial)
        switch v.kind {
        case .sentencePiece:
            let spm = SentencePieceEncoder(vocabulary: v)
            var previousWasSpecial = true  // a space prefix goes before the first text, too
            var escaped: [UInt8] = []
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    previousWasSpecial = true
                case .text(let range):
                    escaped.removeAll(keepingCapacity: true)
                    if v.addSpacePrefix && previousWasSpecial { escaped.append(contentsOf: Vocabulary.spaceMarker) }
                    for b in bytes[range] {
                        if b == 0x20 { escaped.append(contentsOf: Vocabulary.spaceMarker) } else { escaped.append(b) }
                    }
                    escaped.withUnsafeBufferPointer { spm.encode($0, into: &output) }
                    previousWasSpecial = false
                }
            }
        case .bytePairEncoding:
            let bpe = BytePairEncoder(vocabulary: v, preTokenizer: v.preTokenizer!)
            for fragment in fragments {
                switch fragment {
                case .token(let id): output.append(id)
                case .text(let range): bpe.encode(UnsafeBufferPointer(rebasing: bytes[range]), into: &output)
                }
            }
        }
        if addBOS != false, v.addEOS, let eos = v.eos { output.append(eos) }
        return output
    }

    // MARK: decoding

    /// The bytes token `id` stands for (llama.cpp `token_to_piece`). Control and unknown tokens
    /// render as their text only when `renderSpecial` is true. Out-of-range ids give no bytes.
    public func piece(_ id: Int32, renderSpecial: Bool = true) -> [UInt8] {
        Array(pieceSlice(id, renderSpecial: renderSpecial))
    }

    func pieceSlice(_ id: Int32, renderSpecial: Bool) -> ArraySlice<UInt8> {
        guard contains(id) else { return [] }
        if !renderSpecial && !vocabulary.attributes[Int(id)].isDisjoint(with: [.control, .unknown]) { return [] }
        return pieceBytes[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])]
    }

    /// Text for `ids` (llama.cpp `llama_detokenize`): pieces joined, the leading space dropped for
    /// vocabularies that add one, and llama.cpp's space clean-up for BPE models that ask for it.
    /// Bytes that are not valid UTF-8 become U+FFFD.
    /// - Parameter removeSpecial: drop a leading BOS / trailing EOS that the encoder would add.
    public func decode(_ ids: [Int32], renderSpecial: Bool = true, removeSpecial: Bool = false) throws(TokenizerError) -> String {
        String(decoding: try decodeBytes(ids, renderSpecial: renderSpecial, removeSpecial: removeSpecial), as: UTF8.self)
    }

    public func decodeBytes(_ ids: [Int32], renderSpecial: Bool = true, removeSpecial: Bool = false) throws(TokenizerError) -> [UInt8] {
        let v = vocabulary
        for id in ids where !contains(id) { throw .tokenOutOfRange(id: id, vocabularySize: v.size) }
        var ids = ids[...]
        var removeSpace = v.addSpacePrefix
        if removeSpecial && v.addBOS, let first = ids.first, first == v.bos { ids = ids.dropFirst(); removeSpace = false }
        if removeSpecial && v.addEOS, let last = ids.last, last == v.eos { ids = ids.dropLast() }
        var text: [UInt8] = []
        for id in ids {
            var piece = pieceSlice(id, renderSpecial: renderSpecial)
            if removeSpace && piece.first == 0x20 { piece = piece.dropFirst() }
            removeSpace = false
            text.append(contentsOf: piece)
        }
        if v.cleanSpaces { Self.cleanSpaces(&text) }
        return text
    }

    /// llama.cpp's three clean-up passes: no space before `?!.,`, none around a lone apostrophe,
    /// none before `'s 'm 're 've`. Ported literally (in place) to keep its exact behaviour.
    static func cleanSpaces(_ t: inout [UInt8]) {
        let space: UInt8 = 0x20, quote: UInt8 = 0x27
        var total = t.count
        // Pass 1: " ?", " !", " .", " ,"
        var n = total
        total = n > 0 ? 1 : 0
        for i in stride(from: 1, to: n, by: 1) {
            let x = t[i]
            if t[i - 1] == space && (x == 0x3F || x == 0x21 || x == 0x2E || x == 0x2C) { total -= 1 }
            t[total] = x; total += 1
        }
        // Pass 2: " ' "
        n = total
        total = n > 0 ? 1 : 0
        var i = 1
        while i < n {
            let x = t[i]
            if x == quote && i + 1 < n && t[i - 1] == space && t[i + 1] == space {
                total -= 1
                i += 1; t[i] = 0
            }
            t[total] = x; total += 1
            i += 1
        }
        // Pass 3: " 's", " 'm", " 're", " 've"
        n = total
        total = n > 0 ? 1 : 0
        for i in stride(from: 1, to: n, by: 1) {
            let x = t[i]
            if t[i - 1] == space && x == quote && i + 1 < n {
                let x1 = t[i + 1]
                if x1 == 0x73 || x1 == 0x6D { total -= 1 }  // s m
                else if x1 != 0x74 && x1 != 0x64 && i + 2 < n {  // not t d
                    let x2 = t[i + 2]
                    if (x1 == 0x72 && x2 == 0x65) || (x1 == 0x76 && x2 == 0x65) { total -= 1 }  // re ve
                }
            }
            t[total] = x; total += 1
        }
        t.removeLast(t.count - total)
    }

    /// Renders one token as llama.cpp's `token_to_piece(special: true)` does.
    private static func renderPiece(_ v: Vocabulary, _ id: Int32, into out: inout [UInt8]) {
        let attr = v.attributes[Int(id)]
        let text = v.table.key(id)
        if !attr.isDisjoint(with: [.unknown, .control, .userDefined]) {
            out.append(contentsOf: text)
        } else if attr.contains(.normal) {
            switch v.kind {
            case .sentencePiece:
                var i = text.startIndex
                while i < text.endIndex {
                    if text[i] == 0xE2 && i + 2 < text.endIndex && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
                        out.append(0x20); i += 3
                    } else {
                        out.append(text[i]); i += 1
                    }
                }
            case .bytePairEncoding:
                let string = String(decoding: text, as: UTF8.self)
                for scalar in string.unicodeScalars {
                    if let b = ByteLevel.decoded[scalar.value] {
                        out.append(b)
                    } else {
                        out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                        for u in String(scalar).utf8 { out.append(contentsOf: Array(hex2(u).utf8)) }
                        out.append(contentsOf: text)
                        out.append(0x5D)
                    }
                }
            }
        } else if attr.contains(.byte), text.count >= 5,
                  let b = UInt8(String(decoding: text.dropFirst(3).prefix(2), as: UTF8.self), radix: 16) {
            out.append(b)
        }
    }
}

private func hex2(_ b: UInt8) -> String {
    let s = String(b, radix: 16)
    return s.count == 1 ? "0" + s : s
}
