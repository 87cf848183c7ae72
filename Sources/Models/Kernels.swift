import TensorFormats

// Small numeric kernels on f32 vectors. Written with SIMD8 so they map onto AVX registers.

@inline(__always)
func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Dot product of two f32 vectors of length `n`.
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
    var i = 0
    while i + 32 <= n {
        s0 += load8(a, i) * load8(b, i)
        s1 += load8(a, i + 8) * load8(b, i + 8)
        s2 += load8(a, i + 16) * load8(b, i + 16)
        s3 += load8(a, i + 24) * load8(b, i + 24)
        i += 32
    }
    while i + 8 <= n {
        s0 += load8(a, i) * load8(b, i)
        i += 8
    }
    var s = ((s0 + s1) + (s2 + s3)).sum()
    while i < n {
        s += a[i] * b[i]
        i += 1
    }
    return s
}

/// `y += a * x` over `n` elements.
@inline(__always)
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let va = SIMD8<Float>(repeating: a)
    var i = 0
    while i + 8 <= n {
        store8(load8(y, i) + va * load8(x, i), y, i)
        i += 8
    }
    while i < n {
        y[i] += a * x[i]
        i += 1
    }
}

/// `x *= a` over `n` elements.
@inline(__always)
func scale(_ x: UnsafeMutablePointer<Float>, _ a: Float, _ n: Int) {
    let va = SIMD8<Float>(repeating: a)
    var i = 0
    while i + 8 <= n {
        store8(load8(x, i) * va, x, i)
        i += 8
    }
    while i < n {
        x[i] *= a
        i += 1
    }
}

/// Converts `n` f16 values to f32.
@inline(__always)
func halfsToFloats(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    // Float16 -> Float compiles to F16C conversions (vectorized) on x86-64 with -mf16c.
    let h = src.assumingMemoryBound(to: Float16.self)
    for i in 0..<n { dst[i] = Float(h[i]) }
}

/// Rounds `n` values to the nearest f16 and back, in place: what llama.cpp does to a vector
/// it multiplies with an f16 tensor (such as an f16 KV cache).
@inline(__always)
func roundToHalf(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { x[i] = Float(Float16(x[i])) }
}

/// RMS normalization of `n` values, times `weight` (ggml's `rms_norm` then `mul`; the sum of
/// squares is accumulated in double as ggml does).
@inline(__always)
func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
             _ n: Int, eps: Float) {
    var sum: Double = 0
    for i in 0..<n { sum += Double(x[i] * x[i]) }
    let scale = 1 / (Float(sum / Double(n)) + eps).squareRoot()
    for i in 0..<n { out[i] = (x[i] * scale) * weight[i] }
}

/// GELU(tanh) of every f16 value, rounded to f16: 65 536 entries (128 KiB), built once, so the
/// feed-forward of a prefill batch costs a lookup per element instead of a `tanhf`.
let geluTable: [UInt16] = (0..<65536).map { bits in
    let xh = Float(Float16(bitPattern: UInt16(bits)))
    let c: Float = 0.797_884_560_802_865_4  // sqrt(2 / pi)
    // GCC fuses ggml's `1.0f + GELU_COEF_A*x*x` into one multiply-add.
    let g = 0.5 * xh * (1 + tanhf(c * xh * Float(1).addingProduct(0.044715 * xh, xh)))
    return Float16(g).bitPattern
}

/// `gate = gelu(gate) * up` over `n` values, GELU (tanh approximation) as ggml computes it on
/// the CPU: the input rounded to f16 and looked up in a table of f16 results (`geluTable`), x
/// itself from 10 up, and +0 from -10 down (where the product would give -0 for a negative
/// `up`). Eight inputs are rounded at once and the table's address taken once (a lookup of the
/// global per element checked its lazy initialization every time).
@inline(__always)
func geluGated(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    geluTable.withUnsafeBufferPointer { t in
        let table = t.baseAddress!
        @inline(__always) func one(_ x: Float, _ h: Float16, _ u: Float) -> Float {
            x <= -10 ? 0 : (x >= 10 ? x : Float(Float16(bitPattern: table[Int(h.bitPattern)]))) * u
        }
        var i = 0
        while i + 8 <= n {
            let x = load8(gate, i), u = load8(up, i)
            let h = SIMD8<Float16>(x)
            for l in 0..<8 { gate[i + l] = one(x[l], h[l], u[l]) }
            i += 8
        }
        while i < n {
            gate[i] = one(gate[i], Float16(gate[i]), up[i])
            i += 1
        }
    }
}

/// SiLU, x * sigmoid(x), as ggml computes it on the CPU.
@inline(__always)
func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

/// `gate = silu(gate) * up` over `n` values as ggml's `ggml_vec_swiglu_f32` does on AVX2:
/// 8 at a time with its vectorized exponential (`expGgml`), the rest with `expf`.
@inline(__always)
func siluGated(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        let x = load8(gate, i)
        store8(x / (1 + expGgml(SIMD8() - x)) * load8(up, i), gate, i)
        i += 8
    }
    while i < n {
        gate[i] = silu(gate[i]) * up[i]
        i += 1
    }
}

/// A count known at compile time: generic kernels specialized on one get constant loop
/// bounds, so their loops unroll and their accumulators stay in registers.
protocol Count { static var value: Int { get } }
enum C1: Count { static var value: Int { 1 } }
enum C2: Count { static var value: Int { 2 } }
enum C3: Count { static var value: Int { 3 } }
enum C4: Count { static var value: Int { 4 } }

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
