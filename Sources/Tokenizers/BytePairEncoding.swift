/// Byte-level BPE as llama.cpp runs it (`llm_tokenizer_bpe_session`): the pre-tokenizer cuts text
/// into words; each word's bytes are mapped to printable characters (GPT-2's byte-to-unicode
/// table); adjacent symbols are merged lowest merge rank first (ties: leftmost); each final symbol
/// becomes its token, or its single bytes when it is not one.
struct BytePairEncoder {
    let vocabulary: Vocabulary
    let preTokenizer: PreTokenizer

    private struct Bigram {
        var left: Int, right: Int
        var rank: Int32
        var size: Int
    }

    /// Encodes raw text bytes and appends the ids to `output`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        var word: [UInt8] = []
        var symbols: [Symbol] = []
        var queue = Heap<Bigram> { a, b in a.rank < b.rank || (a.rank == b.rank && a.left < b.left) }
        for range in preTokenizer.split(text) {
            word.removeAll(keepingCapacity: true)
            for b in text[range] { word.append(contentsOf: ByteLevel.encoded[Int(b)]) }
            word.withUnsafeBufferPointer { w in
                symbols.removeAll(keepingCapacity: true)
                queue.removeAll()
                merge(w, &symbols, &queue)
                for s in symbols where s.length > 0 {
                    let piece = UnsafeBufferPointer(rebasing: w[s.start..<(s.start + s.length)])
                    if let token = vocabulary.token(piece) {
                        output.append(token)
                    } else {
                        // llama.cpp looks up each byte of the encoded text alone; multi-byte
                        // characters find nothing and are dropped.
                        for b in piece {
                            if let t = withUnsafeBytes(of: b, { vocabulary.token($0.assumingMemoryBound(to: UInt8.self)) }) {
                                output.append(t)
                            }
                        }
                    }
                }
            }
        }
    }

    private func merge(_ w: UnsafeBufferPointer<UInt8>, _ symbols: inout [Symbol], _ queue: inout Heap<Bigram>) {
        if vocabulary.ignoreMerges, let t = vocabulary.token(w) {
            symbols.append(Symbol(start: 0, length: w.count, prev: -1, next: -1, textID: t))
            return
        }
        var offset = 0
        while offset < w.count {
            let length = min(utf8Length(w[offset]), w.count - offset)
            let index = symbols.count
            let id = vocabulary.table.find(UnsafeBufferPointer(rebasing: w[offset..<(offset + length)])) ?? -1
            symbols.append(Symbol(start: offset, length: length, prev: index - 1,
                                  next: offset + length == w.count ? -1 : index + 1, textID: id))
            offset += length
        }
        func add(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let a = symbols[left].textID, b = symbols[right].textID
            guard a >= 0, b >= 0 else { return }
            let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
            guard let rank = vocabulary.mergeRanks[key] else { return }
            queue.push(Bigram(left: left, right: right, rank: rank,
                              size: symbols[left].length + symbols[right].length))
        }
        for i in 1..<max(symbols.count, 1) { add(i - 1, i) }
        while let bigram = queue.pop() {
            let l = symbols[bigram.left], r = symbols[bigram.right]
            // Stale when either side is gone or grew: the concatenation no longer matches.
            if l.length == 0 || r.length == 0 || l.length + r.length != bigram.size { continue }
            symbols[bigram.left].length += r.length
            symbols[bigram.left].textID = vocabulary.mergeResults[Int(bigram.rank)]
            symbols[bigram.right].length = 0
            symbols[bigram.left].next = r.next
            if r.next >= 0 { symbols[r.next].prev = bigram.left }
            add(symbols[bigram.left].prev, bigram.left)
            add(bigram.left, symbols[bigram.left].next)
        }
    }
}

/// GPT-2's reversible byte <-> printable character mapping: printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100 onwards, so BPE tokens never hold raw control bytes.
enum ByteLevel {
    /// UTF-8 of the character each byte maps to.
    static let encoded: [[UInt8]] = {
        var map = [UInt32](repeating: 0, count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                map[b] = UInt32(b)
            } else {
                map[b] = 256 + n; n += 1
            }
        }
        return map.map { Array(String(Unicode.Scalar($0)!).utf8) }
    }()

    /// The byte each mapped character stands for, by code point.
    static let decoded: [UInt32: UInt8] = {
        var d: [UInt32: UInt8] = [:]
        for (b, utf8) in encoded.enumerated() {
            d[String(decoding: utf8, as: UTF8.self).unicodeScalars.first!.value] = UInt8(b)
        }
        return d
    }()
}
