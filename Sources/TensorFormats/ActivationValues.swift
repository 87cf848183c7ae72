extension QuantizedActivations {
    /// Row `row` dequantized into `dst` (`count` floats): the values the dot kernels multiply
    /// with. A matrix x matrix product on f32 panels that uses these gets llama.cpp's rounding
    /// of the activations (each product is exact; only the summation order differs).
    public func values(row: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < capacity)
        let s = scales + row * scalesPerRow
        switch format {
        case .f32:
            dst.update(from: s, count: count)
        case .q8_0, .q8_K:
            // Quants are Int16, and each 32 are stored as their 16 even-indexed then 16 odd-indexed.
            let q = qs + row * count
            for c in 0..<(count / 32) {
                let d = s[32 * c / format.blockSize]
                let src = q + 32 * c, out = dst + 32 * c
                for j in 0..<16 {
                    out[2 * j] = Float(src[j]) * d
                    out[2 * j + 1] = Float(src[16 + j]) * d
                }
            }
        }
    }
}
