import KVCache
import TensorFormats
import Testing

/// The Hadamard rotation quantized KV rows go through: orthonormal, its own inverse, and the
/// reason 4-bit rows keep their quality (it spreads an outlier channel over the block).
@Suite struct RotationTests {
    func row(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
    }

    func rotated(_ x: [Float]) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { hadamardRotate($0.baseAddress!, count: $0.count) }
        return y
    }

    @Test(arguments: [64, 128, 256, 96])
    func orthonormalAndSelfInverse(_ n: Int) {
        let a = row(n, seed: 1), b = row(n, seed: 2)
        let ra = rotated(a), rb = rotated(b)
        let dot = zip(a, b).map(*).reduce(0, +), rdot = zip(ra, rb).map(*).reduce(0, +)
        #expect(abs(dot - rdot) < 1e-4)
        for (x, y) in zip(rotated(ra), a) { #expect(abs(x - y) < 1e-5) }
        #expect(ra != a)
    }

    @Test func blockSizeIsTheLargestPowerOfTwoDividingTheRow() {
        #expect(hadamardSize(256) == 256)
        #expect(hadamardSize(96) == 32)
        #expect(hadamardSize(80) == 16)
    }

    /// A row with one outlier channel, as keys after RMSNorm often have: Q4_0 of the rotated row
    /// (rotated back) is more than twice as close to the original than Q4_0 of the row itself.
    @Test func rotationShrinksQ4ErrorOnOutliers() throws {
        var x = row(128, seed: 3)
        x[17] = 40
        func q4RoundTrip(_ v: [Float]) throws -> [Float] {
            var bytes = [UInt8](repeating: 0, count: 128 / 32 * 18)
            var back = [Float](repeating: 0, count: 128)
            try quantize(.q4_0, from: v, count: 128, into: &bytes)
            try dequantize(.q4_0, from: bytes, count: 128, into: &back)
            return back
        }
        func error(_ y: [Float]) -> Float { zip(x, y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }
        let plain = error(try q4RoundTrip(x))
        let viaRotation = error(rotated(try q4RoundTrip(rotated(x))))
        #expect(viaRotation * 2 < plain, "rotated \(viaRotation) vs plain \(plain)")
    }

    @Test func storageDescribesItself() {
        #expect(KVStorage.f16.description == "f16")
        #expect(KVStorage.q4_0.description == "q4_0+rot")
        #expect(KVStorage(.q8_0, rotation: false).description == "q8_0")
        #expect(KVStorage(key: .q8_0, value: .f16).description == "k=q8_0 v=f16+rot")
        #expect(!KVStorage(key: .f16, value: .f16).rotatesKeys)
    }
}
