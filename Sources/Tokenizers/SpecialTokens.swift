/// A piece of input after special tokens are cut out: raw text (a byte range) or a token.
enum Fragment: Equatable {
    case text(Range<Int>)
    case token(Int32)
}

/// Finds special-token text (control, user-defined, unknown tokens) in raw input, the way llama.cpp's
/// `tokenizer_st_partition` does: tokens are tried longest first, each taking its leftmost
/// non-overlapping occurrences in whatever raw text earlier (longer) tokens left.
///
/// llama.cpp searches the text once per special token; Gemma 3 has 6,414 of them, so here one trie
/// pass first collects every occurrence, and only tokens that occur are then replayed in that order.
struct SpecialTokenMatcher: Sendable {
    /// Trie over special token texts. Node 0 is the root; `rootChild` indexes its children by byte.
    private var rootChild = [Int32](repeating: -1, count: 256)
    private var edges: [UInt64: Int32] = [:]
    private var terminal: [Int32] = [-1]
    /// Order in llama.cpp's cache: text length descending (ties: lower id first).
    private var order: [Int32: Int] = [:]
    private var lengths: [Int32: Int] = [:]
    private let attributes: [TokenAttributes]

    init(vocabulary v: Vocabulary) {
        attributes = v.attributes
        var ids: [Int32] = []
        for i in 0..<v.size where !v.attributes[i].isDisjoint(with: TokenAttributes.special) {
            ids.append(Int32(i))
        }
        ids.sort { (v.table.keyLength($0), $1) > (v.table.keyLength($1), $0) }
        for (rank, id) in ids.enumerated() {
            order[id] = rank
            lengths[id] = v.table.keyLength(id)
            var node: Int32 = 0
            for b in v.table.key(id) {
                let next = child(node, b)
                if next >= 0 { node = next; continue }
                let new = Int32(terminal.count)
                terminal.append(-1)
                if node == 0 { rootChild[Int(b)] = new } else { edges[UInt64(node) << 8 | UInt64(b)] = new }
                node = new
            }
            terminal[Int(node)] = id
        }
    }

    @inline(__always)
    private func child(_ node: Int32, _ byte: UInt8) -> Int32 {
        node == 0 ? rootChild[Int(byte)] : (edges[UInt64(node) << 8 | UInt64(byte)] ?? -1)
    }

    /// Splits `bytes` into raw text and special tokens. Without `parseSpecial`, control and unknown
    /// tokens stay text; user-defined tokens are still cut out (as in llama.cpp and HF tokenizers).
    func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let n = bytes.count
        guard n > 0 else { return [] }
        // Every occurrence of every allowed special token, grouped by token.
        var occurrences: [Int32: [Int]] = [:]
        for start in 0..<n {
            var node: Int32 = 0, i = start
            while i < n {
                node = child(node, bytes[i])
                if node < 0 { break }
                i += 1
                let id = terminal[Int(node)]
                if id >= 0 && (parseSpecial || attributes[Int(id)].isDisjoint(with: [.control, .unknown])) {
                    occurrences[id, default: []].append(start)
                }
            }
        }
        guard !occurrences.isEmpty else { return [.text(0..<n)] }
        // Replay in cache order: an occurrence is taken if all its bytes are still raw text.
        var owner = [Int32](repeating: -1, count: n)
        var starts: [Int: Int32] = [:]
        for id in occurrences.keys.sorted(by: { order[$0]! < order[$1]! }) {
            let length = terminalLength(id)
            for start in occurrences[id]! where (start..<(start + length)).allSatisfy({ owner[$0] < 0 }) {
                for k in start..<(start + length) { owner[k] = id }
                starts[start] = id
            }
        }
        var fragments: [Fragment] = []
        var i = 0, textStart = 0
        while i < n {
            if let id = starts[i] {
                if i > textStart { fragments.append(.text(textStart..<i)) }
                fragments.append(.token(id))
                i += terminalLength(id); textStart = i
            } else {
                i += 1
            }
        }
        if textStart < n { fragments.append(.text(textStart..<n)) }
        return fragments
    }

    @inline(__always) private func terminalLength(_ id: Int32) -> Int { lengths[id] ?? 0 }
}
