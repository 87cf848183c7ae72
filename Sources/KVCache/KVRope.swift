import Foundation

/// How a layer's keys were rotated by their positions (RoPE) before they reached the cache.
///
/// A `q4` cache centers its keys before quantizing them, and a key's mean is a pre-RoPE vector
/// turned by the key's position: subtracting one post-RoPE mean, calibrated on the first
/// tokens, goes stale as positions grow (GPL-3 at ctx 2048: +5.6% perplexity, against +2.0% at
/// 512). Knowing the rotation, the cache turns its pre-RoPE mean to each span of positions
/// instead (`KeyCentring`).
public struct KVRope: Sendable, Hashable {
    /// Which two elements of a head a frequency rotates.
    public enum Pairing: Sendable, Hashable {
        /// Elements `i` and `i + dimensions / 2` (GPT-NeoX's layout; Gemma).
        case halves
        /// Elements `2i` and `2i + 1` (the original layout; Llama in GGUF files).
        case adjacent
    }

    public var pairing: Pairing
    /// Rotated elements at the start of each head (the rest are not rotated).
    public var dimensions: Int
    public var base: Float
    /// Multiplies every angle (linear RoPE scaling; 1: none).
    public var scale: Float
    /// Per pair, a divisor of its frequency (Llama 3's `rope_freqs`), or nil.
    public var frequencyFactors: [Float]?

    public init(pairing: Pairing, dimensions: Int, base: Float, scale: Float = 1, frequencyFactors: [Float]? = nil) {
        precondition(dimensions > 0 && dimensions % 2 == 0 && (frequencyFactors?.count ?? dimensions / 2) == dimensions / 2)
        self.pairing = pairing
        self.dimensions = dimensions
        self.base = base
        self.scale = scale
        self.frequencyFactors = frequencyFactors
    }

    public var pairs: Int { dimensions / 2 }

    /// Radians pair `j` turns per position, as the model's RoPE computes it.
    public func angle(pair j: Int) -> Double {
        Double(scale) * pow(Double(base), -2 * Double(j) / Double(dimensions)) / Double(frequencyFactors?[j] ?? 1)
    }

    /// The two elements of a head that pair `j` rotates.
    @inline(__always) public func elements(pair j: Int) -> (Int, Int) {
        pairing == .halves ? (j, j + dimensions / 2) : (2 * j, 2 * j + 1)
    }

    /// Turns one head's vector `x` by `sign · position` times each pair's angle, in place.
    public func rotate(_ x: UnsafeMutablePointer<Float>, position: Double, sign: Double = 1) {
        rotate(x, heads: 1, stride: 0, position: position, sign: sign)
    }

    /// `rotate` of `heads` vectors `stride` floats apart, each pair's angle (given in `angles`,
    /// or worked out) and its cosine and sine found once for all of them.
    public func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, stride: Int, position: Double, sign: Double = 1,
                       angles: [Double]? = nil) {
        for j in 0..<pairs {
            let a = sign * position * (angles?[j] ?? angle(pair: j)), c = cos(a), s = sin(a)
            let (i0, i1) = elements(pair: j)
            for h in 0..<heads {
                let v = x + h * stride
                let x0 = Double(v[i0]), x1 = Double(v[i1])
                v[i0] = Float(x0 * c - x1 * s)
                v[i1] = Float(x0 * s + x1 * c)
            }
        }
    }
}
