#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Prefill products in integer arithmetic on x86-64: weights decoded to unsigned bytes
/// (`decodeUnsigned`) times the 8-bit activations, with `pmaddubsw` (32 byte products summed in
/// pairs per instruction, four times the multiply-adds of an f32 FMA) and `pmaddwd`. Swift's
/// SIMD types cannot express these two instructions, so they come from Clang's intrinsics; other
/// platforms (and weight types without an unsigned form) use `Gemm`'s f32 panels. The byte-lane
/// operations around them are intrinsics too: written with `SIMD32<UInt8>` they compiled to
/// generic per-lane code (measured 1.5x slower here, far worse in `ByteDot`).
///
/// Each thread decodes a panel of 8 rows, interleaved four bytes at a time (`panel[g][row][4]`,
/// 32 bytes per group of 4 columns), so one 256-bit load holds 4 columns of all 8 rows and one
/// broadcast of 4 activation bytes multiplies them all: lane r of the result is row r. Tokens go
/// past the panel four at a time. Per block the integer sum is exact (offsets included) and
/// becomes a float once: `acc += float(Σ u·a - offset·Σa) · scale·d_a - min·d_a·Σa`.
public enum IntegerGemm {
    public static let panelRows = 8
    static let tokenTile = 4

    /// How many byte multiply-adds (2 · maxValue · 127 at most each) can be summed in 16 bits.
    static func groupsPerWiden(_ layout: UnsignedLayout) -> Int {
        let k = Int(Int16.max) / (2 * layout.maxValue * 127)
        return k >= 8 ? 8 : k >= 4 ? 4 : 2
    }

    /// Floats of per-thread scratch for a matrix of `cols` columns.
    public static func scratchFloats(cols: Int) -> Int {
        let blocks = cols / 16
        // Panel bytes, panel scales and mins, then the decoded rows' bytes, one row's scales and mins.
        return 2 * panelRows * cols / 4 + 2 * panelRows * blocks + 2 * blocks + 16
    }

    /// Rows `r0..<r0+count` (count <= 8) of a matrix of `type` (rows `rowBytes` apart from
    /// `weights`, `cols` columns) times all `n` tokens of `a` into `y` (token t's row r at
    /// `y[t * yStride + r]`), using `scratch` (`scratchFloats(cols:)` floats).
    public static func panel(_ type: GGMLType, weights: UnsafeRawPointer, rowBytes: Int, cols: Int, rows r0: Int, count: Int,
                             a: ByteActivations, n: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                             scratch: UnsafeMutablePointer<Float>) {
        guard let layout = type.unsignedLayout else { preconditionFailure("\(type) has no unsigned form") }
        let blocks = cols / layout.blockSize
        let scales = scratch, mins = scales + panelRows * blocks
        let rowScales = mins + panelRows * blocks, rowMins = rowScales + blocks
        let panel = UnsafeMutableRawPointer(rowMins + blocks)
        let bytes = (panel + panelRows * cols).assumingMemoryBound(to: UInt8.self)
        if count < panelRows {
            (bytes + count * cols).initialize(repeating: 0, count: (panelRows - count) * cols)
            scales.initialize(repeating: 0, count: 2 * panelRows * blocks)
        }
        for i in 0..<count {
            decodeUnsigned(type, from: weights + (r0 + i) * rowBytes, count: cols, u: bytes + i * cols, scales: rowScales,
                           mins: rowMins)
            for b in 0..<blocks {
                scales[panelRows * b + i] = rowScales[b]
                mins[panelRows * b + i] = rowMins[b]
            }
        }
        // Interleaved 32 columns at a time: the 8 rows' words (4 bytes) transposed, so word k of
        // every row lands in group 8c + k (a 64-token prefill spent a third of its products
        // unpacking weights byte by byte and word by word).
        for c in 0..<(cols / 32) {
            @inline(__always) func row(_ r: Int) -> SIMD8<Float> {
                UnsafeRawPointer(bytes + r * cols + 32 * c).loadUnaligned(as: SIMD8<Float>.self)
            }
            let t = transpose8(row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
            let dst = panel + 256 * c
            dst.storeBytes(of: t.0, as: SIMD8<Float>.self)
            dst.storeBytes(of: t.1, toByteOffset: 32, as: SIMD8<Float>.self)
            dst.storeBytes(of: t.2, toByteOffset: 64, as: SIMD8<Float>.self)
            dst.storeBytes(of: t.3, toByteOffset: 96, as: SIMD8<Float>.self)
            dst.storeBytes(of: t.4, toByteOffset: 128, as: SIMD8<Float>.self)
            dst.storeBytes(of: t.5, toByteOffset: 160, as: SIMD8<Float>.self)
            dst.storeBytes(of: t.6, toByteOffset: 192, as: SIMD8<Float>.self)
            dst.storeBytes(of: t.7, toByteOffset: 224, as: SIMD8<Float>.self)
        }
        let p = Panel(bytes: UnsafeRawPointer(panel), scales: scales, mins: mins, cols: cols, layout: layout)
        var t = 0
        while t + tokenTile <= n {
            let out = y + t * yStride + r0
            switch (layout.blockSize, groupsPerWiden(layout)) {
            case (16, _): p.tokens4(a, t, Shape<C4, C2>.self, out, yStride, rows: count)
            case (_, 8): p.tokens4(a, t, Shape<C8, C8>.self, out, yStride, rows: count)
            case (_, 4): p.tokens4(a, t, Shape<C8, C4>.self, out, yStride, rows: count)
            default: p.tokens4(a, t, Shape<C8, C2>.self, out, yStride, rows: count)
            }
            t += tokenTile
        }
        while t < n {
            p.token(a, t, y + t * yStride + r0, rows: count)
            t += 1
        }
    }
}

/// Groups of 4 columns per block, and groups summed in 16 bits before widening.
protocol BlockShape {
    static var groups: Int { get }
    static var k: Int { get }
}
enum Shape<Groups: Count, K: Count>: BlockShape {
    static var groups: Int { Groups.value }
    static var k: Int { K.value }
}

/// A compile-time count, so that each specialization of `Panel.tokens4` has constant loop bounds.
protocol Count { static var value: Int { get } }
enum C1: Count { static var value: Int { 1 } }
enum C2: Count { static var value: Int { 2 } }
enum C3: Count { static var value: Int { 3 } }
enum C4: Count { static var value: Int { 4 } }
enum C8: Count { static var value: Int { 8 } }

/// A decoded panel of 8 rows (see `IntegerGemm`).
private struct Panel {
    let bytes: UnsafeRawPointer
    let scales: UnsafePointer<Float>
    let mins: UnsafePointer<Float>
    let cols: Int
    let layout: UnsignedLayout

    typealias Bytes = SIMD4<Int64>

    @inline(__always) func weights(_ group: Int) -> Bytes { bytes.loadUnaligned(fromByteOffset: 32 &* group, as: Bytes.self) }

    /// Four activation bytes, in every 32-bit lane.
    @inline(__always) static func broadcast(_ x: UnsafePointer<Int8>, _ offset: Int) -> Bytes {
        _mm256_set1_epi32(UnsafeRawPointer(x).loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }

    /// Σ over `k` groups of 4 columns from `group`, per row: byte multiply-adds summed in 16
    /// bits (each is at most 2 · maxValue · 127, so `IntegerGemm.groupsPerWiden` of them fit),
    /// then widened in pairs.
    @inline(__always) func sum(_ k: Int, from group: Int, _ x: UnsafePointer<Int8>, ones: Bytes) -> Bytes {
        var p = _mm256_maddubs_epi16(weights(group), Self.broadcast(x, 4 &* group))
        for j in 1..<k { p = _mm256_add_epi16(p, _mm256_maddubs_epi16(weights(group &+ j), Self.broadcast(x, 4 &* (group &+ j)))) }
        return _mm256_madd_epi16(p, ones)
    }

    /// Adds block `b`'s contribution for one token to `acc`.
    @inline(__always) func finish(_ isum: Bytes, block b: Int, _ blocks: ActivationBlocks, into acc: inout SIMD8<Float>) {
        var sum = isum
        if layout.offset != 0 { sum = _mm256_sub_epi32(sum, _mm256_set1_epi32(layout.offset &* blocks.sums[b])) }
        let s = UnsafeRawPointer(scales + 8 &* b).loadUnaligned(as: SIMD8<Float>.self)
        acc.addProduct(_mm256_cvtepi32_ps(sum), s * blocks.scales[b])
        if layout.hasMin {
            let m = UnsafeRawPointer(mins + 8 &* b).loadUnaligned(as: SIMD8<Float>.self)
            acc.addProduct(m, SIMD8(repeating: -blocks.scaledSums[b]))
        }
    }

    /// Tokens t..<t+4. The shape's block size and groups per widening are type-level
    /// constants, so each specialization's loops unroll.
    func tokens4<S: BlockShape>(_ a: ByteActivations, _ t: Int, _: S.Type, _ y: UnsafeMutablePointer<Float>, _ yStride: Int,
                                rows: Int) {
        let groups = S.groups, k = S.k
        let size = 4 &* groups, blockCount = cols / size
        let x0 = a.qs + t &* cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols
        let b0 = a.blocks(row: t, blockSize: size), b1 = a.blocks(row: t + 1, blockSize: size)
        let b2 = a.blocks(row: t + 2, blockSize: size), b3 = a.blocks(row: t + 3, blockSize: size)
        let ones = _mm256_set1_epi16(1)
        var f0 = SIMD8<Float>(), f1 = SIMD8<Float>(), f2 = SIMD8<Float>(), f3 = SIMD8<Float>()
        for b in 0..<blockCount {
            var i0 = Bytes(), i1 = Bytes(), i2 = Bytes(), i3 = Bytes()
            var g = groups &* b
            let end = g &+ groups
            while g < end {
                i0 = _mm256_add_epi32(i0, sum(k, from: g, x0, ones: ones))
                i1 = _mm256_add_epi32(i1, sum(k, from: g, x1, ones: ones))
                i2 = _mm256_add_epi32(i2, sum(k, from: g, x2, ones: ones))
                i3 = _mm256_add_epi32(i3, sum(k, from: g, x3, ones: ones))
                g &+= k
            }
            finish(i0, block: b, b0, into: &f0)
            finish(i1, block: b, b1, into: &f1)
            finish(i2, block: b, b2, into: &f2)
            finish(i3, block: b, b3, into: &f3)
        }
        Self.store(f0, y, rows)
        Self.store(f1, y + yStride, rows)
        Self.store(f2, y + 2 &* yStride, rows)
        Self.store(f3, y + 3 &* yStride, rows)
    }

    /// One token.
    @inline(__always) func token(_ a: ByteActivations, _ t: Int, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        let size = layout.blockSize, groups = size / 4
        let x = a.qs + t &* cols
        let blocks = a.blocks(row: t, blockSize: size)
        let ones = _mm256_set1_epi16(1)
        var f = SIMD8<Float>()
        for b in 0..<(cols / size) {
            var i = Bytes()
            var g = groups &* b
            let end = g &+ groups
            while g < end {
                i = _mm256_add_epi32(i, sum(2, from: g, x, ones: ones))
                g &+= 2
            }
            finish(i, block: b, blocks, into: &f)
        }
        Self.store(f, y, rows)
    }

    @inline(__always) static func store(_ v: SIMD8<Float>, _ y: UnsafeMutablePointer<Float>, _ rows: Int) {
        if rows == 8 {
            UnsafeMutableRawPointer(y).storeBytes(of: v, as: SIMD8<Float>.self)
        } else {
            for i in 0..<rows { y[i] = v[i] }
        }
    }
}

#endif
