import TensorFormats

/// How a cache stores keys and values: each with its own element type, and whether quantized
/// rows are rotated first.
///
/// Keys and values tolerate quantization differently (keys feed a softmax, whose exponent
/// amplifies their error), so they are chosen separately, as llama.cpp's `-ctk`/`-ctv` do.
/// Rotation multiplies each head's row by an orthonormal Hadamard matrix before quantizing: it
/// spreads a few large channels over the whole block, so the block scale no longer has to cover
/// outliers and 4-bit rows lose far less. Attention rotates the query the same way (dot products
/// are unchanged by an orthonormal map) and rotates the weighted sum of values back.
public struct KVStorage: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var key: KVElementType
    public var value: KVElementType
    /// Rotate quantized rows (f32/f16 rows are never rotated).
    public var rotation: Bool

    public init(key: KVElementType, value: KVElementType, rotation: Bool = true) {
        self.key = key
        self.value = value
        self.rotation = rotation
    }

    /// Keys and values of one type.
    public init(_ type: KVElementType, rotation: Bool = true) {
        self.init(key: type, value: type, rotation: rotation)
    }

    public static let f32 = KVStorage(.f32)
    public static let f16 = KVStorage(.f16)
    public static let q8_0 = KVStorage(.q8_0)
    public static let q4_0 = KVStorage(.q4_0)
    /// rdic's 4-bit type: centered, rotated, 4.25-bit rows (see `Q4Rows`, `KVRowOffsets`).
    public static let q4 = KVStorage(.q4)

    /// Whether keys or values are centered, so a layer's first batch sets its offsets.
    public var centers: Bool { key.centers || value.centers }

    /// Whether stored keys are rotated (the query must then be rotated too).
    public var rotatesKeys: Bool { rotation && key.isQuantized }
    /// Whether stored values are rotated (the attention output must then be rotated back).
    public var rotatesValues: Bool { rotation && value.isQuantized }

    /// `f16`, or `k=q8_0 v=q4_0`, with `+rot` when quantized rows are rotated.
    public var description: String {
        let types = key == value ? key.rawValue : "k=\(key.rawValue) v=\(value.rawValue)"
        return rotatesKeys || rotatesValues ? types + "+rot" : types
    }
}

extension KVElementType {
    public var isQuantized: Bool { self == .q8_0 || self == .q4_0 || self == .q4 }
    /// Whether rows are centered before quantizing (see `KVRowOffsets`).
    public var centers: Bool { self == .q4 }
}

/// The orthonormal Walsh-Hadamard transform of `x[0..<count]`, in place, applied to each run of
/// `hadamardSize(count)` elements (a block-diagonal orthonormal map when `count` is not a power
/// of two). It is its own inverse, so the same call rotates and rotates back.
public func hadamardRotate(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let n = hadamardSize(count)
    guard n > 1 else { return }
    let norm = 1 / Float(n).squareRoot()
    var start = 0
    while start < count {
        let v = x + start
        var h = 1
        while h < n {
            var i = 0
            while i < n {
                for j in i..<(i + h) {
                    let a = v[j], b = v[j + h]
                    v[j] = a + b
                    v[j + h] = a - b
                }
                i += 2 * h
            }
            h *= 2
        }
        for j in 0..<n { v[j] *= norm }
        start += n
    }
}

/// The largest power of two dividing `count`: the size of the Hadamard blocks for a row of
/// `count` elements (the whole head for every model we know: 64, 128, 256).
public func hadamardSize(_ count: Int) -> Int { count & -count }
