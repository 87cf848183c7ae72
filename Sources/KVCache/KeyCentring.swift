import Foundation

/// Keys centered span by span of positions: the offset subtracted from a key at position `p` is
/// the layer's pre-RoPE key mean turned to the centre of `p`'s span (`span` positions).
///
/// Every key of a span loses the same vector, so each of a query's scores over that span moves
/// by the same `q·offset`, which attention adds back once per span (`correction`); scores stay
/// exact for any mean. The mean of a pair that turns fast is shrunk by the mean cosine of its
/// turn across a span (the Dirichlet kernel), which is the least-squares offset for a span: a
/// fast pair's mean averages out over a span, so subtracting it whole would add error.
public struct KeyCentring: Sendable {
    public let rope: KVRope
    public let span: Int
    let table: CentreTable

    public init(rope: KVRope, span: Int) {
        precondition(span > 0)
        self.rope = rope
        self.span = span
        table = CentreTable.shared(rope: rope, span: span)
    }

    /// The span `position` falls in (positions below 0 count as 0).
    @inline(__always) public func spanIndex(_ position: Int32) -> Int { Int(max(position, 0)) / span }

    /// What pair `j`'s mean is multiplied by: the mean of `cos(δ·θ)` over the `span` offsets
    /// `δ` of a span's positions from its centre.
    public func shrink(pair j: Int) -> Double {
        let half = rope.angle(pair: j) / 2, s = sin(half)
        return abs(s) < 1e-12 ? 1 : sin(Double(span) * half) / (Double(span) * s)
    }

    /// The pre-RoPE mean of `rows` keys (`[row][heads][keyLength]`, after RoPE at `positions`),
    /// rows at position 0 left out (the first token is an attention sink unlike the others),
    /// each rotated pair shrunk by `shrink`. Zero with no other row.
    public func mean(keys: UnsafePointer<Float>, stride: Int, rows: [Int], positions: [Int32],
                     heads: Int, keyLength: Int) -> [Double] {
        var sum = [Double](repeating: 0, count: heads * keyLength)
        var row = [Float](repeating: 0, count: heads * keyLength)
        let angles = (0..<rope.pairs).map { rope.angle(pair: $0) }
        for (i, p) in zip(rows, positions) {
            row.withUnsafeMutableBufferPointer { r in
                r.baseAddress!.update(from: keys + i * stride, count: heads * keyLength)
                rope.rotate(r.baseAddress!, heads: heads, stride: keyLength, position: Double(p), sign: -1, angles: angles)
            }
            for j in 0..<(heads * keyLength) { sum[j] += Double(row[j]) }
        }
        let n = Double(max(rows.count, 1))
        var mean = sum.map { $0 / n }
        for h in 0..<heads {
            for j in 0..<rope.pairs {
                let (a, b) = rope.elements(pair: j), f = shrink(pair: j)
                mean[h * keyLength + a] *= f
                mean[h * keyLength + b] *= f
            }
        }
        return mean
    }

    /// The offset of a key at `position`: `mean` (`[heads][keyLength]`) turned to its span's centre.
    public func offset(mean: UnsafePointer<Float>, heads: Int, keyLength: Int, position: Int32,
                       into out: UnsafeMutablePointer<Float>) {
        let t = table.row(spanIndex(position)), pairs = rope.pairs
        out.update(from: mean, count: heads * keyLength)
        for h in 0..<heads {
            let m = mean + h * keyLength, o = out + h * keyLength
            for j in 0..<pairs {
                let (a, b) = rope.elements(pair: j)
                let c = t[j], s = t[pairs + j]
                o[a] = m[a] * c - m[b] * s
                o[b] = m[a] * s + m[b] * c
            }
        }
    }

    /// Floats `coefficients` writes per query head.
    public var coefficientCount: Int { 2 * rope.pairs }

    /// What `correction` needs of one query head `q` (after RoPE) against the head's `mean`.
    public func coefficients(query q: UnsafePointer<Float>, mean m: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let pairs = rope.pairs
        for j in 0..<pairs {
            let (a, b) = rope.elements(pair: j)
            out[j] = q[a] * m[a] + q[b] * m[b]
            out[pairs + j] = q[b] * m[a] - q[a] * m[b]
        }
    }

    /// The cosines then sines of span `spanIndex`'s centre, for `correction`.
    public func centre(spanIndex: Int) -> UnsafePointer<Float> { table.row(spanIndex) }

    /// `q·offset` for the keys of span `spanIndex`, less a part that is the same for every span
    /// (the unrotated elements), from the query's `coefficients`.
    public func correction(coefficients k: UnsafePointer<Float>, spanIndex: Int) -> Float {
        correction(coefficients: k, centre: centre(spanIndex: spanIndex))
    }

    /// `correction` with the span's `centre` already looked up (once for every head).
    @inline(__always)
    public func correction(coefficients k: UnsafePointer<Float>, centre t: UnsafePointer<Float>) -> Float {
        let n = 2 * rope.pairs
        var acc = SIMD8<Float>()
        var j = 0
        while j + 8 <= n {
            acc.addProduct(UnsafeRawPointer(k + j).loadUnaligned(as: SIMD8<Float>.self),
                           UnsafeRawPointer(t + j).loadUnaligned(as: SIMD8<Float>.self))
            j += 8
        }
        var total = acc.sum()
        while j < n {
            total += k[j] * t[j]
            j += 1
        }
        return total
    }
}

/// Per span, the cosines then the sines of every pair's angle at the span's centre: shared by
/// every cache of the same RoPE and span, filled as positions are first met and never freed
/// (1 KiB a span for a 256-wide head: 2 MiB at 32K positions in 16-position spans).
final class CentreTable: @unchecked Sendable {
    let rope: KVRope
    let span: Int
    private let lock = NSLock()
    /// Page `i` holds spans `64i..<64(i+1)` (nil: not met yet).
    private var pages: [UnsafeMutablePointer<Float>?] = []
    private static let spansPerPage = 64

    private init(rope: KVRope, span: Int) {
        self.rope = rope
        self.span = span
    }

    private struct Key: Hashable {
        let rope: KVRope
        let span: Int
    }

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [Key: CentreTable] = [:]

    static func shared(rope: KVRope, span: Int) -> CentreTable {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let t = registry[Key(rope: rope, span: span)] { return t }
        let t = CentreTable(rope: rope, span: span)
        registry[Key(rope: rope, span: span)] = t
        return t
    }

    /// Span `index`'s `2 · pairs` floats.
    func row(_ index: Int) -> UnsafePointer<Float> {
        let page = index / Self.spansPerPage, width = 2 * rope.pairs
        lock.lock()
        defer { lock.unlock() }
        if page < pages.count, let p = pages[page] { return UnsafePointer(p + (index % Self.spansPerPage) * width) }
        if page >= pages.count { pages += Array(repeating: nil, count: page + 1 - pages.count) }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: Self.spansPerPage * width)
        for i in 0..<Self.spansPerPage {
            let centre = Double((page * Self.spansPerPage + i) * span) + Double(span - 1) / 2
            for j in 0..<rope.pairs {
                let a = centre * rope.angle(pair: j)
                p[i * width + j] = Float(cos(a))
                p[i * width + rope.pairs + j] = Float(sin(a))
            }
        }
        pages[page] = p
        return UnsafePointer(p + (index % Self.spansPerPage) * width)
    }
}
