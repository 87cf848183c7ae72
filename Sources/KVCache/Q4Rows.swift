#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Sixteen signed 8-bit levels a 4-bit code stands for (times its group's scale), ascending.
///
/// Rows reach the `q4` format centered and rotated, so their elements are close to Gaussian:
/// uniform levels waste codes on the rare tails, while Lloyd-Max's levels for a Gaussian put
/// them where the mass is (about 18% less squared error at 4 bits). Levels are integers so a
/// score stays an integer dot product against the 8-bit query.
public struct Q4Levels: Sendable, Hashable {
    public let values: SIMD16<Int8>
    /// For each 8-bit value `v` (index `v + 128`), the code of the nearest level (the lower on a
    /// tie): worked out once here rather than on every `Q4Rows.quantize` call.
    let nearest: [UInt8]
    /// `values` as floats.
    let floats: [Float]
    /// Per level boundary k (0..<15): the largest 8-bit value whose nearest level is `k` or
    /// lower, as a float: the vector fit finds a value's level by comparing with these.
    let bounds: [Float]

    public init(_ values: [Int8]) {
        precondition(values.count == 16 && zip(values, values.dropFirst()).allSatisfy { $0 < $1 })
        self.values = SIMD16(values)
        nearest = (0..<256).map { r in
            let v = r - 128
            var best = 0
            for c in 1..<16 where abs(Int(values[c]) - v) < abs(Int(values[best]) - v) { best = c }
            return UInt8(best)
        }
        floats = values.map { Float($0) }
        bounds = (0..<15).map { [nearest] k in Float((-128...127).last { Int(nearest[$0 + 128]) <= k } ?? -129) }
    }

    /// `n - 8` for code `n`: Q4_0's levels.
    public static let uniform = Q4Levels((-8...7).map { Int8($0) })
    /// Lloyd-Max's 16 levels for a unit Gaussian (±0.128 … ±2.733), scaled so ±2.733 is ±127.
    public static let gaussian = Q4Levels([-127, -96, -75, -58, -44, -31, -18, -6, 6, 18, 31, 44, 58, 75, 96, 127])

    var largest: Float { Float(max(-Int(values[0]), Int(values[15]))) }
}

/// A `q4` row format: groups of `groupSize` elements (a multiple of 32), each an f16 scale `d`
/// and `groupSize` 4-bit codes `n` standing for `levels[n] · d`. The codes of each 32-element
/// run are laid out as Q4_0's nibbles (low nibbles: elements 0-15, high ones: 16-31), so a run
/// scores against one 32-element block of an 8-bit query.
public struct Q4Rows: Sendable, Hashable {
    public var groupSize: Int
    public var levels: Q4Levels

    public init(groupSize: Int, levels: Q4Levels) {
        precondition(groupSize % 32 == 0 && groupSize > 0)
        self.groupSize = groupSize
        self.levels = levels
    }

    var groupBytes: Int { 2 + groupSize / 2 }

    /// Bytes of a row of `count` elements (a multiple of `groupSize`).
    public func rowBytes(_ count: Int) -> Int { count / groupSize * groupBytes }

    /// Bits per element, the scales included.
    public var bitsPerElement: Double { Double(groupBytes * 8) / Double(groupSize) }

    /// Quantizes `count` floats, each group with the scale that fits it best: of 24 scales
    /// around the one putting the largest element on the outermost level, the least-squares one.
    public func quantize(_ x: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        quantize(x, count: count, into: dst, portable: false)
    }

    /// `quantize` one candidate scale at a time (the path of every other architecture; tested
    /// on x86-64 too): the same bytes.
    public func portableQuantize(_ x: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer) {
        quantize(x, count: count, into: dst, portable: true)
    }

    private func quantize(_ x: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer, portable: Bool) {
        precondition(count % groupSize == 0)
        // Tables and code buffers by pointer: array accesses (bounds checks, allocations) were
        // most of the time of writing a token's rows to a q4 cache.
        levels.nearest.withUnsafeBufferPointer { nearest in
            levels.floats.withUnsafeBufferPointer { floats in
                levels.bounds.withUnsafeBufferPointer { bounds in
                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: groupSize) { best in
                        best.initialize(repeating: 0)
                        let tables = Tables(nearest: nearest.baseAddress!, levels: floats.baseAddress!, bounds: bounds.baseAddress!,
                                            portable: portable)
                        for g in 0..<(count / groupSize) {
                            quantizeGroup(x + groupSize * g, into: dst + groupBytes * g, tables, best: best.baseAddress!)
                        }
                    }
                }
            }
        }
    }

    /// `Q4Levels`' tables by pointer.
    private struct Tables {
        let nearest: UnsafePointer<UInt8>
        let levels: UnsafePointer<Float>
        let bounds: UnsafePointer<Float>
        let portable: Bool

        /// The code of value `v` (an element times an inverse scale): rounded half away from
        /// zero, clamped to 8 bits, its nearest level's.
        @inline(__always) func code(_ v: Float) -> UInt8 { nearest[Int(min(127, max(-128, v.rounded()))) &+ 128] }

        /// The level of `code(v)`.
        @inline(__always) func level(_ v: Float) -> Float { levels[Int(code(v))] }

        #if arch(x86_64)
        /// `level` of eight values: the level above every bound the rounded value passes (the
        /// bounds ascend). Each `blendv` takes its second operand where the third's sign bit
        /// is set; the same comparisons through `SIMDMask` were built lane by lane.
        @inline(__always) func level(_ v: SIMD8<Float>) -> SIMD8<Float> {
            let one = SIMD8<Float>(repeating: 1), zero = SIMD8<Float>()
            let t = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(v)), d = v - t
            let up = _mm256_blendv_ps(one, zero, d - 0.5)                       // 1 where d >= 0.5
            let down = _mm256_blendv_ps(one, zero, SIMD8(repeating: -0.5) - d)  // 1 where d <= -0.5
            let r = _mm256_min_ps(_mm256_max_ps(t + up - down, SIMD8(repeating: -128)), SIMD8(repeating: 127))
            var l = SIMD8<Float>(repeating: levels[0])
            for k in 0..<15 { l = _mm256_blendv_ps(l, SIMD8(repeating: levels[k + 1]), SIMD8(repeating: bounds[k]) - r) }
            return l
        }
        #endif
    }

    /// Three vectors of eight floats: the 24 candidate scales, one a lane.
    private typealias Lanes24 = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    @inline(__always) private static func lane(_ v: Lanes24, _ i: Int) -> Float { i < 8 ? v.0[i] : i < 16 ? v.1[i - 8] : v.2[i - 16] }

    /// One group of `quantize`. `best` ends holding the chosen codes; a group with no fit (all
    /// zero, or so small its inverse scales overflow) keeps the codes before it, at scale 0.
    @inline(__always)
    private func quantizeGroup(_ xs: UnsafePointer<Float>, into blk: UnsafeMutableRawPointer, _ tables: Tables,
                               best: UnsafeMutablePointer<UInt8>) {
        var maxValue: Float = 0
        for j in 0..<groupSize where abs(xs[j]) > maxValue { maxValue = abs(xs[j]) }
        var inverse: Lanes24 = (.zero, .zero, .zero)
        for i in 0..<8 {
            inverse.0[i] = levels.largest * (0.72 + 0.02 * Float(i)) / maxValue
            inverse.1[i] = levels.largest * (0.72 + 0.02 * Float(i + 8)) / maxValue
            inverse.2[i] = levels.largest * (0.72 + 0.02 * Float(i + 16)) / maxValue
        }
        var bestScale: Float = 0
        if maxValue > 0 && maxValue.isFinite && inverse.2[7].isFinite {
            var sums: Lanes24 = (.zero, .zero, .zero), squares = sums
            #if arch(x86_64)
            if tables.portable {
                fit(xs, inverse, tables, &sums, &squares)
            } else {
                fitLanes(xs, inverse, tables, &sums, &squares)
            }
            #else
            fit(xs, inverse, tables, &sums, &squares)
            #endif
            var bestFit: Float = -1, chosen: Float?
            for i in 0..<24 {
                let sx = Self.lane(sums, i), s2 = Self.lane(squares, i)
                guard s2 > 0, sx * sx / s2 > bestFit else { continue }
                bestFit = sx * sx / s2
                bestScale = sx / s2
                chosen = Self.lane(inverse, i)
            }
            if let iscale = chosen {
                for j in 0..<groupSize { best[j] = tables.code(xs[j] * iscale) }
            }
        }
        blk.storeBytes(of: Float16(bestScale).bitPattern, as: UInt16.self)
        for k in 0..<(groupSize / 32) {
            for j in 0..<16 {
                blk.storeBytes(of: best[32 * k + j] | best[32 * k + j + 16] << 4, toByteOffset: 2 + 16 * k + j, as: UInt8.self)
            }
        }
    }

    /// For each candidate inverse scale, Σ level · x and Σ level² over the group's elements in
    /// order: one candidate at a time.
    @inline(__always)
    private func fit(_ xs: UnsafePointer<Float>, _ inverse: Lanes24, _ tables: Tables, _ sums: inout Lanes24,
                     _ squares: inout Lanes24) {
        @inline(__always) func set(_ v: inout Lanes24, _ i: Int, _ x: Float) {
            if i < 8 { v.0[i] = x } else if i < 16 { v.1[i - 8] = x } else { v.2[i - 16] = x }
        }
        for i in 0..<24 {
            let iscale = Self.lane(inverse, i)
            var lx: Float = 0, l2: Float = 0
            for j in 0..<groupSize {
                let l = tables.level(xs[j] * iscale)
                lx += l * xs[j]
                l2 += l * l
            }
            set(&sums, i, lx)
            set(&squares, i, l2)
        }
    }

    #if arch(x86_64)
    /// `fit` with the 24 candidates at once, one a lane: each lane still sums over the elements
    /// in order, so the sums (and the fit chosen, and the bytes) are the same, and the
    /// candidates no longer wait on one another's chains of additions (those chains were a
    /// third of a q4 prefill's time).
    @inline(__always)
    private func fitLanes(_ xs: UnsafePointer<Float>, _ inverse: Lanes24, _ tables: Tables, _ sums: inout Lanes24,
                          _ squares: inout Lanes24) {
        @inline(__always) func add(_ x: SIMD8<Float>, _ inverse: SIMD8<Float>, _ lx: inout SIMD8<Float>, _ l2: inout SIMD8<Float>) {
            let l = tables.level(x * inverse)
            lx += l * x
            l2 += l * l
        }
        for j in 0..<groupSize {
            let x = SIMD8<Float>(repeating: xs[j])
            add(x, inverse.0, &sums.0, &squares.0)
            add(x, inverse.1, &sums.1, &squares.1)
            add(x, inverse.2, &sums.2, &squares.2)
        }
    }
    #endif

    @inline(__always) static func scale(_ blk: UnsafeRawPointer) -> Float {
        Float(Float16(bitPattern: blk.loadUnaligned(as: UInt16.self)))
    }

    /// The levels of a 32-element run, in element order.
    @inline(__always) func run(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let b = p.loadUnaligned(as: SIMD16<UInt8>.self)
        #if arch(x86_64)
        let table = unsafeBitCast(levels.values, to: SIMD2<Int64>.self)
        let lo = unsafeBitCast(_mm_shuffle_epi8(table, unsafeBitCast(b & 0x0F, to: SIMD2<Int64>.self)), to: SIMD16<Int8>.self)
        let hi = unsafeBitCast(_mm_shuffle_epi8(table, unsafeBitCast(b &>> 4, to: SIMD2<Int64>.self)), to: SIMD16<Int8>.self)
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: lo)), SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: hi)))
        #else
        var lo = SIMD16<Float>(), hi = SIMD16<Float>()
        for j in 0..<16 {
            lo[j] = Float(levels.values[Int(b[j] & 0x0F)])
            hi[j] = Float(levels.values[Int(b[j] >> 4)])
        }
        return (lo, hi)
        #endif
    }

    public func dequantize(_ row: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        for g in 0..<(count / groupSize) {
            let blk = row + groupBytes * g, d = Self.scale(blk)
            for r in 0..<(groupSize / 32) {
                let (lo, hi) = run(blk + 2 + 16 * r)
                let o = UnsafeMutableRawPointer(out + groupSize * g + 32 * r)
                o.storeBytes(of: lo * d, as: SIMD16<Float>.self)
                o.storeBytes(of: hi * d, toByteOffset: 64, as: SIMD16<Float>.self)
            }
        }
    }

    /// A query as `dot` takes it: per 32-element block, 8-bit values `x` and the block's scale
    /// (its largest magnitude at 127).
    public static func quantizeQuery(_ src: UnsafePointer<Float>, count: Int, into x: UnsafeMutablePointer<Int8>,
                                     scales: UnsafeMutablePointer<Float>) {
        for b in 0..<(count / 32) {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(src[32 * b + j])) }
            let inv: Float = amax == 0 ? 0 : 127 / amax
            for j in 0..<32 { x[32 * b + j] = Int8((src[32 * b + j] * inv).rounded()) }
            scales[b] = amax / 127
        }
    }

    /// The dot product of a row with a query from `quantizeQuery`.
    @inline(__always)
    public func dot(_ row: UnsafeRawPointer, count: Int, x: UnsafePointer<Int8>, scales: UnsafePointer<Float>) -> Float {
        #if arch(x86_64)
        var acc = SIMD8<Float>()
        let table16 = unsafeBitCast(levels.values, to: SIMD2<Int64>.self)
        let table = _mm256_set_m128i(table16, table16)
        let runs = groupSize / 32
        for g in 0..<(count / groupSize) {
            let blk = row + groupBytes * g, d = Self.scale(blk)
            for r in 0..<runs {
                let b = runs * g + r
                let v = _mm256_shuffle_epi8(table, Self.nibbles(blk + 2 + 16 * r))
                let q = UnsafeRawPointer(x + 32 * b).loadUnaligned(as: SIMD4<Int64>.self)
                // |v| · (q with v's sign): maddubs takes unsigned bytes on its left.
                let sum = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(q, v)),
                                            _mm256_set1_epi16(1))
                acc.addProduct(_mm256_cvtepi32_ps(sum), SIMD8(repeating: d * scales[b]))
            }
        }
        return acc.sum()
        #else
        return portableDot(row, count: count, x: x, scales: scales)
        #endif
    }

    /// `dot` in plain Swift (the path of every other architecture; tested on x86-64 too).
    public func portableDot(_ row: UnsafeRawPointer, count: Int, x: UnsafePointer<Int8>, scales: UnsafePointer<Float>) -> Float {
        var total: Float = 0
        let runs = groupSize / 32
        for g in 0..<(count / groupSize) {
            let blk = row + groupBytes * g, d = Self.scale(blk)
            for r in 0..<runs {
                let b = runs * g + r, p = blk + 2 + 16 * r
                var s: Int32 = 0
                for j in 0..<16 {
                    let byte = p.load(fromByteOffset: j, as: UInt8.self)
                    s += Int32(levels.values[Int(byte & 0x0F)]) * Int32(x[32 * b + j])
                        + Int32(levels.values[Int(byte >> 4)]) * Int32(x[32 * b + j + 16])
                }
                total += d * scales[b] * Float(s)
            }
        }
        return total
    }

    #if arch(x86_64)
    /// The 32 nibbles of 16 bytes as bytes: low nibbles are elements 0-15, high ones 16-31.
    @inline(__always) static func nibbles(_ p: UnsafeRawPointer) -> SIMD4<Int64> {
        let q = p.loadUnaligned(as: SIMD2<Int64>.self)
        let mask = _mm_set1_epi8(0x0F)
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), mask), _mm_and_si128(q, mask))
    }
    #endif
}
