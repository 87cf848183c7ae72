/// XXH64 (Yann Collet's xxHash, 64-bit): a checksum fast enough to verify a whole session file
/// on every restore (several GB/s) while catching any flipped bit with near certainty.
public struct XXH64: Sendable {
    static let p1: UInt64 = 11_400_714_785_074_694_791
    static let p2: UInt64 = 14_029_467_366_897_019_727
    static let p3: UInt64 = 1_609_587_929_392_839_161
    static let p4: UInt64 = 9_650_029_242_287_828_579
    static let p5: UInt64 = 2_870_177_450_012_600_261

    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        (acc &+ input &* p2).rotl(31) &* p1
    }

    @inline(__always) static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* p1 &+ p4
    }

    /// The hash of `bytes` with `seed`, as the reference implementation computes it.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let n = bytes.count
        guard let base = bytes.baseAddress, n > 0 else { return finish(seed &+ p5, base: nil, from: 0, to: 0) }
        var i = 0
        var h: UInt64
        if n >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while i + 32 <= n {
                v1 = round(v1, base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
                v2 = round(v2, base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self).littleEndian)
                v3 = round(v3, base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self).littleEndian)
                v4 = round(v4, base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self).littleEndian)
                i += 32
            }
            h = v1.rotl(1) &+ v2.rotl(7) &+ v3.rotl(12) &+ v4.rotl(18)
            h = merge(merge(merge(merge(h, v1), v2), v3), v4)
        } else {
            h = seed &+ p5
        }
        h &+= UInt64(n)
        return finish(h, base: base, from: i, to: n)
    }

    static func finish(_ start: UInt64, base: UnsafeRawPointer?, from: Int, to n: Int) -> UInt64 {
        var h = start
        var i = from
        if let base {
            while i + 8 <= n {
                h ^= round(0, base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
                h = h.rotl(27) &* p1 &+ p4
                i += 8
            }
            if i + 4 <= n {
                h ^= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian) &* p1
                h = h.rotl(23) &* p2 &+ p3
                i += 4
            }
            while i < n {
                h ^= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) &* p5
                h = h.rotl(11) &* p1
                i += 1
            }
        }
        h ^= h >> 33
        h &*= p2
        h ^= h >> 29
        h &*= p3
        h ^= h >> 32
        return h
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }
}

extension UInt64 {
    @inline(__always) func rotl(_ r: UInt64) -> UInt64 { (self << r) | (self >> (64 - r)) }
}
