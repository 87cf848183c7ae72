/// SentencePiece BPE as llama.cpp runs it (`llm_tokenizer_spm_session`): start from UTF-8
/// characters, repeatedly merge the adjacent pair whose concatenation is the vocabulary token with
/// the highest score (ties: leftmost), then emit each symbol as its token or, failing that, as
/// `<0xNN>` byte tokens.
struct SentencePieceEncoder {
    let vocabulary: Vocabulary

    private struct Bigram {
        var left: Int, right: Int
        var score: Float
        var size: Int
    }

    /// Encodes `text` (already with spaces escaped as "▁") and appends the ids to `output`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var offset = 0
        while offset < text.count {
            let length = min(utf8Length(text[offset]), text.count - offset)
            let index = symbols.count
            symbols.append(Symbol(start: offset, length: length, prev: index - 1,
                                  next: offset + length == text.count ? -1 : index + 1))
            offset += length
        }
        var queue = Heap<Bigram> { a, b in a.score > b.score || (a.score == b.score && a.left < b.left) }

        func tryAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let start = symbols[left].start
            let size = symbols[left].length + symbols[right].length
            guard let token = vocabulary.token(UnsafeBufferPointer(rebasing: text[start..<(start + size)])) else { return }
            queue.push(Bigram(left: left, right: right, score: vocabulary.scores[Int(token)], size: size))
        }
        for i in 1..<max(symbols.count, 1) { tryAdd(i - 1, i) }

        while let bigram = queue.pop() {
            let l = symbols[bigram.left], r = symbols[bigram.right]
            // Stale: one side was merged away, or grew since the pair was queued.
            if l.length == 0 || r.length == 0 || l.length + r.length != bigram.size { continue }
            symbols[bigram.left].length += r.length
            symbols[bigram.right].length = 0
            symbols[bigram.left].next = r.next
            if r.next >= 0 { symbols[r.next].prev = bigram.left }
            tryAdd(symbols[bigram.left].prev, bigram.left)
            tryAdd(bigram.left, symbols[bigram.left].next)
        }

        var i = 0
        while i != -1 {
            let s = symbols[i]
            let piece = UnsafeBufferPointer(rebasing: text[s.start..<(s.start + s.length)])
            if let token = vocabulary.token(piece) {
                output.append(token)
            } else {
                for b in piece { output.append(vocabulary.byteTokens[Int(b)]) }
            }
            i = s.next
        }
    }
}

/// Length of the UTF-8 sequence a lead byte starts (llama.cpp's `unicode_len_utf8`).
@inline(__always)
func utf8Length(_ lead: UInt8) -> Int {
    switch lead >> 4 {
    case 0xC, 0xD: 2
    case 0xE: 3
    case 0xF: 4
    default: 1
    }
}
