import GGUF

/// The tokenizer families read from `tokenizer.ggml.model`.
public enum TokenizerKind: String, Sendable {
    /// `llama`: SentencePiece BPE over characters with scores and `<0xNN>` byte fallback (Gemma 3).
    case sentencePiece = "llama"
    /// `gpt2`: byte-level BPE with ranked merges and a regex-style pre-tokenizer (Llama 3, SmolLM2).
    case bytePairEncoding = "gpt2"
}

/// Everything the encoders and decoder need from the GGUF tokenizer metadata, with llama.cpp's
/// defaults and fix-ups (`llama_vocab::impl::load`) applied, built once.
struct Vocabulary: Sendable {
    let kind: TokenizerKind
    let preTokenizer: PreTokenizer?
    /// Token texts (ids `0..<size`), followed for BPE by merge halves that are not tokens themselves.
    let table: ByteTable
    let size: Int
    let scores: [Float]
    let attributes: [TokenAttributes]

    let bos: Int32?, eos: Int32?, eot: Int32?, eom: Int32?, unk: Int32?, pad: Int32?
    let addBOS: Bool, addEOS: Bool, addSpacePrefix: Bool, cleanSpaces: Bool, ignoreMerges: Bool
    let endOfGeneration: Set<Int32>

    /// BPE: rank of the merge (left id, right id), and the id of the merged text, by rank.
    let mergeRanks: [UInt64: Int32]
    let mergeResults: [Int32]
    /// SPM: the token for each byte value (`<0xNN>`), for byte fallback.
    let byteTokens: [Int32]

    static let spaceMarker: [UInt8] = [0xE2, 0x96, 0x81]  // "▁", SentencePiece's escaped space

    init(metadata m: GGUFMetadata) throws(TokenizerError) {
        guard let model = m.string("tokenizer.ggml.model") else {
            throw .missingMetadata(key: "tokenizer.ggml.model")
        }
        guard let kind = TokenizerKind(rawValue: model) else { throw .unsupportedModel(model) }
        self.kind = kind
        guard case .array(_, let tokenValues)? = m["tokenizer.ggml.tokens"] else {
            throw .missingMetadata(key: "tokenizer.ggml.tokens")
        }
        let n = tokenValues.count
        guard n > 0 else { throw .invalidMetadata(key: "tokenizer.ggml.tokens", reason: "empty token list") }
        size = n

        // Defaults by family, then per pre-tokenizer (llama.cpp's load()).
        var bos: Int32?, eos: Int32?, unk: Int32?
        var addBOS: Bool, addEOS = false, addSpacePrefix: Bool, cleanSpaces: Bool, ignoreMerges = false
        switch kind {
        case .sentencePiece:
            bos = 1; eos = 2; unk = 0
            addBOS = true; addSpacePrefix = true; cleanSpaces = false
            preTokenizer = nil
        case .bytePairEncoding:
            bos = 11; eos = 11; unk = nil
            addBOS = false; addSpacePrefix = false; cleanSpaces = true
            let name = m.string("tokenizer.ggml.pre") ?? "default"
            guard let pre = PreTokenizer(name: name) else { throw .unsupportedPreTokenizer(name) }
            preTokenizer = pre
            cleanSpaces = pre.cleanSpaces
            ignoreMerges = pre.ignoresMerges
            if pre.forcesBOS { addBOS = true }
        }
        if let v = m.bool("tokenizer.ggml.add_space_prefix") { addSpacePrefix = v }

        // Token texts, scores and types.
        var table = ByteTable(capacity: n + (kind == .bytePairEncoding ? 1024 : 0))
        for (i, value) in tokenValues.enumerated() {
            guard var text = value.string else {
                throw .invalidMetadata(key: "tokenizer.ggml.tokens", reason: "entry \(i) is not a string")
            }
            if text.isEmpty { text = "[EMPTY_\(i)]" }
            let (id, inserted) = table.insert(Array(text.utf8))
            if !inserted { throw .duplicateToken(text: text, firstID: id, secondID: Int32(i)) }
        }
        var scores = [Float](repeating: 0, count: n)
        if let values = m["tokenizer.ggml.scores"] {
            guard let array = values.array, array.count >= n else {
                throw .invalidMetadata(key: "tokenizer.ggml.scores", reason: "expected an array of \(n) numbers")
            }
            for i in 0..<n {
                guard let d = array[i].double else {
                    throw .invalidMetadata(key: "tokenizer.ggml.scores", reason: "entry \(i) is not a number")
                }
                scores[i] = Float(d)
            }
        }
        var attributes = [TokenAttributes](repeating: .normal, count: n)
        if let values = m["tokenizer.ggml.token_type"] {
            guard let array = values.array, array.count >= n else {
                throw .invalidMetadata(key: "tokenizer.ggml.token_type", reason: "expected an array of \(n) integers")
            }
            for i in 0..<n {
                guard let t = array[i].int else {
                    throw .invalidMetadata(key: "tokenizer.ggml.token_type", reason: "entry \(i) is not an integer")
                }
                attributes[i] = TokenAttributes(tokenType: t)
            }
        }
        self.scores = scores

        // Special token ids: defaults out of range are dropped; metadata overrides when in range.
        func special(_ key: String, _ fallback: Int32?) -> Int32? {
            var id = fallback.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil }
            if let v = m.int("tokenizer.ggml.\(key)"), v >= 0, v < n { id = Int32(v) }
            return id
        }
        bos = special("bos_token_id", bos)
        eos = special("eos_token_id", eos)
        unk = special("unknown_token_id", unk)
        var eot = special("eot_token_id", nil)
        var eom = special("eom_token_id", nil)
        pad = special("padding_token_id", nil)
        var fimPad = special("fim_pad_token_id", nil)
        var fimRep = special("fim_rep_token_id", nil)
        var fimSep = special("fim_sep_token_id", nil)
        if let v = m.bool("tokenizer.ggml.add_bos_token") { addBOS = v }
        if let v = m.bool("tokenizer.ggml.add_eos_token") { addEOS = v }
        if addBOS && bos == nil { throw .invalidMetadata(key: "tokenizer.ggml.add_bos_token", reason: "true, but no BOS token id") }
        if addEOS && eos == nil { throw .invalidMetadata(key: "tokenizer.ggml.add_eos_token", reason: "true, but no EOS token id") }

        // llama.cpp recognises end-of-turn style tokens by their text, marks them control, and
        // gathers the end-of-generation set from them (ref. llama.cpp issue 9606).
        func id(of text: String) -> Int32? { table.find(Array(text.utf8)).flatMap { Int($0) < n ? $0 : nil } }
        func markControl(_ t: Int32) { attributes[Int(t)].insert(.control) }
        if eot == nil, let t = Self.eotTexts.lazy.compactMap(id(of:)).first { eot = t; markControl(t) }
        if eom == nil, let t = id(of: "<|eom_id|>") { eom = t; markControl(t) }
        if fimPad == nil, let t = Self.fimPadTexts.lazy.compactMap(id(of:)).first { fimPad = t; markControl(t) }
        if fimRep == nil, let t = Self.fimRepTexts.lazy.compactMap(id(of:)).first { fimRep = t; markControl(t) }
        if fimSep == nil, let t = id(of: "<|file_sep|>") { fimSep = t; markControl(t) }
        var eog = Set([fimPad, fimRep, fimSep].compactMap { $0 })
        for text in Self.eogTexts { if let t = id(of: text) { eog.insert(t); markControl(t) } }
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let t = id(of: text) { attributes[Int(t)] = .userDefined }
        }
        for t in [eos, eot, eom].compactMap({ $0 }) { eog.insert(t) }
        // gpt-oss / solar-open: "<|end|>" ends a message, not the generation.
        let has = { (text: String) in id(of: text).map { eog.contains($0) } ?? false }
        if (has("<|return|>") && has("<|call|>") && has("<|end|>"))
            || ((has("<|call|>") || has("<|calls|>")) && has("<|flush|>") && has("<|end|>")),
           let end = id(of: "<|end|>") {
            eog.remove(end); attributes[Int(end)] = .userDefined
        }
        if has("<|tool_response>"), has("</s>"), let s = id(of: "</s>") {
            eog.remove(s); attributes[Int(s)] = .normal
        }
        self.attributes = attributes
        self.bos = bos; self.eos = eos; self.eot = eot; self.eom = eom; self.unk = unk
        self.addBOS = addBOS; self.addEOS = addEOS; self.addSpacePrefix = addSpacePrefix
        self.cleanSpaces = cleanSpaces; self.ignoreMerges = ignoreMerges
        self.endOfGeneration = eog

        // Byte fallback (SPM): "<0xNN>", else the byte itself as a token, else unknown.
        var byteTokens = [Int32](repeating: unk ?? 0, count: 256)
        if kind == .sentencePiece {
            let hex = Array("0123456789ABCDEF".utf8)
            for b in 0..<256 {
                let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]
                if let t = table.find(name), Int(t) < n { byteTokens[b] = t }
                else if let t = table.find([UInt8(b)]), Int(t) < n { byteTokens[b] = t }
            }
        }
        self.byteTokens = byteTokens

        // Merges (BPE): "left right", split at the first space after the first byte.
        var ranks: [UInt64: Int32] = [:]
        var results: [Int32] = []
        if kind == .bytePairEncoding {
            guard let merges = m["tokenizer.ggml.merges"]?.array else {
                throw .missingMetadata(key: "tokenizer.ggml.merges")
            }
            ranks.reserveCapacity(merges.count)
            results.reserveCapacity(merges.count)
            for (rank, value) in merges.enumerated() {
                guard let s = value.string else {
                    throw .invalidMetadata(key: "tokenizer.ggml.merges", reason: "entry \(rank) is not a string")
                }
                let bytes = Array(s.utf8)
                guard bytes.count > 1, let space = bytes[1...].firstIndex(of: 0x20) else {
                    results.append(-1); continue
                }
                let left = table.insert(Array(bytes[..<space])).id
                let right = table.insert(Array(bytes[(space + 1)...])).id
                var joined = Array(bytes[..<space]); joined.append(contentsOf: bytes[(space + 1)...])
                results.append(table.insert(joined).id)
                let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
                if ranks[key] == nil { ranks[key] = Int32(rank) }
            }
        }
        self.mergeRanks = ranks
        self.mergeResults = results
        self.table = table
    }

    /// The token whose text is exactly `bytes` (not a merge half that is not in the vocabulary).
    @inline(__always)
    func token(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        guard let id = table.find(bytes), Int(id) < size else { return nil }
        return id
    }

    static let eotTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let fimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let eogTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]
}
