/// Attention's inner loops over an f16 cache: f16 rows widened in registers (one `vcvtph2ps`
/// per 8 with F16C, `fcvtl` on NEON) instead of through a buffer.

@inline(__always)
func loadHalf8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
    let h = p.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)
    var f = SIMD8<Float>()
    for l in 0..<8 { f[l] = Float(h[l]) }
    return f
}

/// Dot product of `n` floats with `n` f16 values (`n` a multiple of 8).
@inline(__always)
func dotHalf(_ a: UnsafePointer<Float>, _ h: UnsafeRawPointer, _ n: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        s0.addProduct(load8(a, i), loadHalf8(h, i))
        s1.addProduct(load8(a, i + 8), loadHalf8(h, i + 8))
        i += 16
    }
    if i < n { s0.addProduct(load8(a, i), loadHalf8(h, i)) }
    return (s0 + s1).sum()
}

/// `y += a * x` for `n` f16 values of `x` (`n` a multiple of 8).
@inline(__always)
func axpyHalf(_ a: Float, _ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let va = SIMD8<Float>(repeating: a)
    var i = 0
    while i < n {
        var v = load8(y, i)
        v.addProduct(va, loadHalf8(x, i))
        store8(v, y, i)
        i += 8
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
