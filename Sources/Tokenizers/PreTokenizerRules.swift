/// The two multi-branch word rules, scanned by hand the way llama.cpp's
/// `unicode_regex_split_custom_gpt2` / `_llama3` do. Each segment from an earlier split is scanned on
/// its own: outside the segment a code point reads as "out of range" with no flags, so segment
/// edges behave like the ends of the text.
extension CodepointText {
    /// Scans each segment with `body`, which advances `pos` and reports word ends through `add`.
    private func scan(_ segments: [Range<Int>],
                      _ body: (_ pos: inout Int, _ seg: Range<Int>, _ add: (Int) -> Void) -> Void) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(segments.count * 2)
        for seg in segments {
            var prevEnd = seg.lowerBound
            let add: (Int) -> Void = { end in
                if end > prevEnd { out.append(prevEnd..<end) }
                prevEnd = end
            }
            var pos = seg.lowerBound
            while pos < seg.upperBound { body(&pos, seg, add) }
        }
        return out
    }

    @inline(__always) private func cpt(_ i: Int, _ seg: Range<Int>) -> UInt32 {
        seg.contains(i) ? cps[i] : Self.outOfRange
    }

    @inline(__always) private func flag(_ i: Int, _ seg: Range<Int>) -> CodepointFlags {
        seg.contains(i) ? flags[i] : []
    }

    private static let quote: UInt32 = 0x27, space: UInt32 = 0x20, cr: UInt32 = 0x0D, lf: UInt32 = 0x0A

    /// Length of a contraction ('s 't 'm 'd 're 've 'll) starting at `pos`, or 0.
    @inline(__always)
    private func contraction(_ pos: Int, _ seg: Range<Int>, caseInsensitive: Bool) -> Int {
        guard cps[pos] == Self.quote, pos + 1 < seg.upperBound else { return 0 }
        func lower(_ c: UInt32) -> UInt32 { caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 32 : c }
        let a = lower(cps[pos + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard pos + 2 < seg.upperBound else { return 0 }
        let b = lower(cps[pos + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    func gpt2(_ segments: [Range<Int>]) -> [Range<Int>] {
        scan(segments) { pos, seg, add in
            let c = cps[pos], f = flags[pos]
            let n = contraction(pos, seg, caseInsensitive: false)
            if n > 0 { pos += n; add(pos); return }
            let lead = c == Self.space ? 1 : 0
            var f2 = lead == 1 ? flag(pos + 1, seg) : f
            if f2.isLetter || f2.isNumber {
                let letter = f2.isLetter
                pos += lead
                while letter ? f2.isLetter : f2.isNumber { pos += 1; f2 = flag(pos, seg) }
                add(pos); return
            }
            if !f2.isWhitespace && f2.isDefined {  // letters and numbers were handled above
                pos += lead
                while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isDefined { pos += 1; f2 = flag(pos, seg) }
                add(pos); return
            }
            var spaces = 0
            while flag(pos + spaces, seg).isWhitespace { spaces += 1 }
            if spaces > 1 && cpt(pos + spaces, seg) != Self.outOfRange { pos += spaces - 1; add(pos); return }
            if spaces > 0 { pos += spaces; add(pos); return }
            pos += 1; add(pos)
        }
    }

    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// (`digitGroup` 1 gives Qwen 2's `\p{N}`).
    func llama3(_ segments: [Range<Int>], digitGroup: Int = 3) -> [Range<Int>] {
        scan(segments) { pos, seg, add in
            let c = cps[pos], f = flags[pos]
            let n = contraction(pos, seg, caseInsensitive: true)
            if n > 0 { pos += n; add(pos); return }
            if !(c == Self.cr || c == Self.lf || f.isNumber) && (f.isLetter || flag(pos + 1, seg).isLetter) {
                pos += 1
                while flag(pos, seg).isLetter { pos += 1 }
                add(pos); return
            }
            if f.isNumber {
                var start = pos
                while flag(pos, seg).isNumber {
                    pos += 1
                    if pos - start >= digitGroup { add(pos); start = pos }
                }
                add(pos); return
            }
            var f2 = c == Self.space ? flag(pos + 1, seg) : f
            if !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f.isDefined {
                pos += c == Self.space ? 1 : 0
                while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isDefined { pos += 1; f2 = flag(pos, seg) }
                var c2 = cpt(pos, seg)
                while c2 == Self.cr || c2 == Self.lf { pos += 1; c2 = cpt(pos, seg) }
                add(pos); return
            }
            var spaces = 0, lastNewlineEnd = 0
            while flag(pos + spaces, seg).isWhitespace {
                let c2 = cpt(pos + spaces, seg)
                if c2 == Self.cr || c2 == Self.lf { lastNewlineEnd = pos + spaces + 1 }
                spaces += 1
            }
            if lastNewlineEnd > 0 { pos = lastNewlineEnd; add(pos); return }
            if spaces > 1 && cpt(pos + spaces, seg) != Self.outOfRange { pos += spaces - 1; add(pos); return }
            if spaces > 0 { pos += spaces; add(pos); return }
            pos += 1; add(pos)
        }
    }
}
