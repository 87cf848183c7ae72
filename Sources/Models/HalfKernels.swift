/// Attention's inner loops over an f16 cache: f16 rows widened in registers (one `vcvtph2ps`
/// per 8 with F16C, `fcvtl` on NEON) instead of through a buffer, and the softmax
/// exponentials 8 at a time.
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

@inline(__always)
func loadHalf8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
    #if arch(x86_64)
    // The intrinsic: lane by lane, the compiler split the load and took two 4-wide converts.
    return _mm256_cvtph_ps(p.loadUnaligned(fromByteOffset: 2 * i, as: SIMD2<Int64>.self))
    #else
    let h = p.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)
    var f = SIMD8<Float>()
    for l in 0..<8 { f[l] = Float(h[l]) }
    return f
    #endif
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

/// e^x on 8 lanes, for x <= 0 (softmax weights): Cody-Waite range reduction and a degree-6
/// polynomial, within 2 ulp of `expf`; inputs below -87 give 0.
@inline(__always)
func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -87)
    let xc = x.replacing(with: lo, where: x .< lo)
    let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 * 2^23: adding it rounds to an integer
    let t = xc * 1.442_695_04 + magic
    let n = t - magic
    var r = xc - n * 0.693_145_751_953_125
    r = r - n * 1.428_606_765_330_187_045e-6
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    let e = p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    return e.replacing(with: 0, where: x .< lo)
}

/// `x[i] = e^(x[i] - m)` for `n` values; returns their sum.
@inline(__always)
func expShifted(_ x: UnsafeMutablePointer<Float>, _ n: Int, minus m: Float) -> Float {
    let vm = SIMD8<Float>(repeating: m)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        let e = exp8(load8(x, i) - vm)
        store8(e, x, i)
        acc += e
        i += 8
    }
    var s = acc.sum()
    while i < n {
        x[i] = expf(x[i] - m)
        s += x[i]
        i += 1
    }
    return s
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
