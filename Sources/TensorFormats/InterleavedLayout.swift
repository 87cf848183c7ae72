#if arch(x86_64)
import ByteDotVNNI

/// Copying a matrix into `VNNIInterleaved`'s layout and reading a row's blocks back. Compiled
/// for the AVX2 baseline, not with `ByteDotVNNI`'s AVX-512 flags: CPUs without AVX-512 make
/// these copies too (for `InterleavedAVX2`), and the compiler may vectorize these loops with
/// whatever instructions its flags allow. Where each layout puts what: `VNNIInterleaved`,
/// `Q4KLayout`, `Q6KLayout`.
enum InterleavedLayout {
    static let groupRows = VNNIInterleaved.groupRows

    /// Repacks rows `groups` (in groups of sixteen rows) of the row-major matrix at `base`
    /// (`rowBytes` apart, `blocks` blocks each) into `dst`, the start of the interleaved copy.
    static func repack(_ type: VNNIBlockType, base: UnsafeRawPointer, rowBytes: Int, rows: Int, blocks: Int,
                       groups: Range<Int>, into dst: UnsafeMutableRawPointer) {
        let size = VNNIInterleaved.groupBlockBytes(type)
        let sourceBlockBytes = switch type {
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q8_0: 34
        case .q4_K: 144
        case .q6_K: 210
        }
        for g in groups {
            for b in 0..<blocks {
                let out = dst + (g &* blocks &+ b) &* size
                out.initializeMemory(as: UInt8.self, repeating: 0, count: size)
                for i in 0..<groupRows where g &* groupRows &+ i < rows {
                    let offset: Int = (g &* groupRows &+ i) &* rowBytes &+ b &* sourceBlockBytes
                    let src = base + offset
                    switch type {
                    case .q4_K: repackQ4K(src, into: out, lane: i)
                    case .q6_K: repackQ6K(src, into: out, lane: i)
                    default: repackBlock(type, src, into: out, lane: i)
                    }
                }
            }
        }
    }

    /// One row's block `src` of a 32-element type into lane `i` of the group-block `out`.
    private static func repackBlock(_ type: VNNIBlockType, _ src: UnsafeRawPointer, into out: UnsafeMutableRawPointer,
                                    lane i: Int) {
        out.storeBytes(of: src.loadUnaligned(as: UInt16.self), toByteOffset: 2 &* i, as: UInt16.self)
        let q = out + 64
        @inline(__always) func word(_ at: Int) -> UInt32 { src.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
        @inline(__always) func put(_ register: Int, _ v: UInt32) {
            q.storeBytes(of: v, toByteOffset: 64 &* register &+ 4 &* i, as: UInt32.self)
        }
        switch type {
        case .q8_0:
            for k in 0..<8 { put(k, word(2 &+ 4 &* k) ^ 0x8080_8080) }
        case .q4_0, .q4_1, .q5_0:
            // Elements 0-15 are the low nibbles of the 16 bytes, 16-31 the high ones.
            let quants = switch type {
            case .q4_1: 4
            case .q5_0: 6
            default: 2
            }
            if type == .q5_0 {
                // Q5_0's fifth bits (bit e of the u32 at byte 2 is element e's) as
                // a byte mask per step: bit 4i + c is row i's element 4k + c.
                let high = UInt64(word(2))
                for k in 0..<8 {
                    let at = 256 &+ 8 &* k
                    let bits = q.load(fromByteOffset: at, as: UInt64.self) | (high >> (4 &* k) & 0xF) << (4 &* i)
                    q.storeBytes(of: bits, toByteOffset: at, as: UInt64.self)
                }
            }
            if type == .q4_1 {
                out.storeBytes(of: src.loadUnaligned(fromByteOffset: 2, as: UInt16.self),
                               toByteOffset: 32 &+ 2 &* i, as: UInt16.self)
            }
            let nibbles: UInt32 = 0x0F0F_0F0F
            for j in 0..<2 {
                let lo = word(quants &+ 8 &* j), hi = word(quants &+ 8 &* j &+ 4)
                put(j, lo & nibbles | (hi & nibbles) << 4)
                put(j &+ 2, lo >> 4 & nibbles | hi & ~nibbles)
            }
        case .q4_K, .q6_K: break
        }
    }

    /// Block `b` of row `r` as it was in the row-major file (`repack` undone), into `dst`.
    static func originalBlock(_ type: VNNIBlockType, packed: UnsafeRawPointer, blocks: Int, row r: Int, block b: Int,
                              into dst: UnsafeMutableRawPointer) {
        if type == .q4_K { return originalQ4KBlock(packed: packed, blocks: blocks, row: r, block: b, into: dst) }
        if type == .q6_K { return originalQ6KBlock(packed: packed, blocks: blocks, row: r, block: b, into: dst) }
        let i = r % groupRows
        let blk = packed + (r / groupRows &* blocks &+ b) &* VNNIInterleaved.groupBlockBytes(type)
        let q = blk + 64
        @inline(__always) func word(_ register: Int) -> UInt32 {
            q.load(fromByteOffset: 64 &* register &+ 4 &* i, as: UInt32.self)
        }
        dst.storeBytes(of: blk.load(fromByteOffset: 2 &* i, as: UInt16.self), as: UInt16.self)
        switch type {
        case .q8_0:
            for k in 0..<8 { dst.storeBytes(of: word(k) ^ 0x8080_8080, toByteOffset: 2 &+ 4 &* k, as: UInt32.self) }
        case .q4_0, .q4_1, .q5_0:
            let quants = switch type {
            case .q4_1: 4
            case .q5_0: 6
            default: 2
            }
            if type == .q4_1 {
                dst.storeBytes(of: blk.load(fromByteOffset: 32 &+ 2 &* i, as: UInt16.self), toByteOffset: 2, as: UInt16.self)
            }
            if type == .q5_0 {
                var high: UInt32 = 0
                for k in 0..<8 {
                    let bits = q.load(fromByteOffset: 256 &+ 8 &* k, as: UInt64.self) >> (4 &* i) & 0xF
                    high |= UInt32(bits) << (4 &* k)
                }
                dst.storeBytes(of: high, toByteOffset: 2, as: UInt32.self)
            }
            let nibbles: UInt32 = 0x0F0F_0F0F
            for j in 0..<2 {
                let a = word(j), c = word(j &+ 2)
                // Bytes 8j..<8j+4 hold elements 8j+c (low) and 16+8j+c (high); 8j+4.. the next four.
                dst.storeBytes(of: a & nibbles | (c & nibbles) << 4, toByteOffset: quants &+ 8 &* j, as: UInt32.self)
                dst.storeBytes(of: a >> 4 & nibbles | c & ~nibbles, toByteOffset: quants &+ 8 &* j &+ 4, as: UInt32.self)
            }
        case .q4_K, .q6_K: break
        }
    }

    /// One row's Q4_K super-block `src` (144 bytes) into lane `i` of the group-block `out`.
    static func repackQ4K(_ src: UnsafeRawPointer, into out: UnsafeMutableRawPointer, lane i: Int) {
        out.storeBytes(of: src.loadUnaligned(as: UInt16.self), toByteOffset: 2 &* i, as: UInt16.self)
        out.storeBytes(of: src.loadUnaligned(fromByteOffset: 2, as: UInt16.self), toByteOffset: 32 &+ 2 &* i, as: UInt16.self)
        let packed = src + 4
        @inline(__always) func byte(_ k: Int) -> UInt8 { packed.load(fromByteOffset: k, as: UInt8.self) }
        for j in 0..<8 {
            // ggml's get_scale_min_k4.
            let scale: UInt8 = j < 4 ? byte(j) & 63 : (byte(j &+ 4) & 0x0F) | ((byte(j &- 4) >> 6) << 4)
            let min: UInt8 = j < 4 ? byte(j &+ 4) & 63 : (byte(j &+ 4) >> 4) | ((byte(j) >> 6) << 4)
            out.storeBytes(of: scale, toByteOffset: Q4KLayout.scales &+ 16 &* j &+ i, as: UInt8.self)
            out.storeBytes(of: min, toByteOffset: Q4KLayout.mins &+ 16 &* j &+ i, as: UInt8.self)
        }
        for r in 0..<32 {
            out.storeBytes(of: src.loadUnaligned(fromByteOffset: 16 &+ 4 &* r, as: UInt32.self),
                           toByteOffset: Q4KLayout.quants &+ 64 &* r &+ 4 &* i, as: UInt32.self)
        }
    }

    /// Block `b` of Q4_K row `r` as the file had it.
    static func originalQ4KBlock(packed: UnsafeRawPointer, blocks: Int, row r: Int, block b: Int,
                                 into dst: UnsafeMutableRawPointer) {
        let i = r % groupRows
        let blk = packed + (r / groupRows &* blocks &+ b) &* Q4KLayout.groupBlockBytes
        dst.storeBytes(of: blk.load(fromByteOffset: 2 &* i, as: UInt16.self), as: UInt16.self)
        dst.storeBytes(of: blk.load(fromByteOffset: 32 &+ 2 &* i, as: UInt16.self), toByteOffset: 2, as: UInt16.self)
        @inline(__always) func scale(_ j: Int) -> UInt8 { blk.load(fromByteOffset: Q4KLayout.scales &+ 16 &* j &+ i, as: UInt8.self) }
        @inline(__always) func min(_ j: Int) -> UInt8 { blk.load(fromByteOffset: Q4KLayout.mins &+ 16 &* j &+ i, as: UInt8.self) }
        for j in 0..<4 {
            dst.storeBytes(of: scale(j) & 63 | (scale(j &+ 4) >> 4) << 6, toByteOffset: 4 &+ j, as: UInt8.self)
            dst.storeBytes(of: min(j) & 63 | (min(j &+ 4) >> 4) << 6, toByteOffset: 8 &+ j, as: UInt8.self)
            dst.storeBytes(of: scale(j &+ 4) & 0x0F | (min(j &+ 4) & 0x0F) << 4, toByteOffset: 12 &+ j, as: UInt8.self)
        }
        for r in 0..<32 {
            dst.storeBytes(of: blk.load(fromByteOffset: Q4KLayout.quants &+ 64 &* r &+ 4 &* i, as: UInt32.self),
                           toByteOffset: 16 &+ 4 &* r, as: UInt32.self)
        }
    }

    /// One row's Q6_K super-block `src` (210 bytes) into lane `i` of the group-block `out`.
    static func repackQ6K(_ src: UnsafeRawPointer, into out: UnsafeMutableRawPointer, lane i: Int) {
        out.storeBytes(of: src.loadUnaligned(fromByteOffset: 208, as: UInt16.self), toByteOffset: 2 &* i, as: UInt16.self)
        for s in 0..<16 {
            out.storeBytes(of: src.load(fromByteOffset: 192 &+ s, as: UInt8.self),
                           toByteOffset: Q6KLayout.scales &+ 16 &* s &+ i, as: UInt8.self)
        }
        for r in 0..<32 {
            out.storeBytes(of: src.loadUnaligned(fromByteOffset: 4 &* r, as: UInt32.self),
                           toByteOffset: Q6KLayout.low &+ 64 &* r &+ 4 &* i, as: UInt32.self)
        }
        for r in 0..<16 {
            out.storeBytes(of: src.loadUnaligned(fromByteOffset: 128 &+ 4 &* r, as: UInt32.self),
                           toByteOffset: Q6KLayout.high &+ 64 &* r &+ 4 &* i, as: UInt32.self)
        }
    }

    /// Block `b` of Q6_K row `r` as the file had it.
    static func originalQ6KBlock(packed: UnsafeRawPointer, blocks: Int, row r: Int, block b: Int,
                                 into dst: UnsafeMutableRawPointer) {
        let i = r % groupRows
        let blk = packed + (r / groupRows &* blocks &+ b) &* Q6KLayout.groupBlockBytes
        dst.storeBytes(of: blk.load(fromByteOffset: 2 &* i, as: UInt16.self), toByteOffset: 208, as: UInt16.self)
        for s in 0..<16 {
            dst.storeBytes(of: blk.load(fromByteOffset: Q6KLayout.scales &+ 16 &* s &+ i, as: UInt8.self),
                           toByteOffset: 192 &+ s, as: UInt8.self)
        }
        for k in 0..<32 {
            dst.storeBytes(of: blk.load(fromByteOffset: Q6KLayout.low &+ 64 &* k &+ 4 &* i, as: UInt32.self),
                           toByteOffset: 4 &* k, as: UInt32.self)
        }
        for k in 0..<16 {
            dst.storeBytes(of: blk.load(fromByteOffset: Q6KLayout.high &+ 64 &* k &+ 4 &* i, as: UInt32.self),
                           toByteOffset: 128 &+ 4 &* k, as: UInt32.self)
        }
    }
}
#endif
