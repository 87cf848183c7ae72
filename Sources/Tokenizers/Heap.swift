/// A binary max-heap ordered by `isAbove` (the element that should come out first is "above").
/// The merge loops push and pop every candidate pair, so this avoids any per-element allocation.
struct Heap<Element> {
    private var items: [Element] = []
    private let isAbove: (Element, Element) -> Bool

    init(isAbove: @escaping (Element, Element) -> Bool) { self.isAbove = isAbove }

    var isEmpty: Bool { items.isEmpty }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard isAbove(items[i], items[parent]) else { break }
            items.swapAt(i, parent); i = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && isAbove(items[l], items[best]) { best = l }
                if r < items.count && isAbove(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best); i = best
            }
        }
        return top
    }
}

/// A run of bytes in the text being merged, linked to its neighbours (llama.cpp's `llm_symbol`).
struct Symbol {
    var start: Int
    var length: Int
    var prev: Int
    var next: Int
    /// BPE only: the interned id of the symbol's text (-1 when the text is not a known string).
    var textID: Int32 = -1
}
