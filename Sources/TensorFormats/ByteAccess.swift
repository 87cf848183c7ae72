/// Little helpers to read block fields: ggml blocks are packed (a Q4_0 block is 18 bytes), so
/// every multi-byte field may be unaligned.
extension UnsafeRawPointer {
    @inline(__always) func byte(_ offset: Int) -> UInt8 {
        load(fromByteOffset: offset, as: UInt8.self)
    }
    @inline(__always) func int8(_ offset: Int) -> Int8 {
        load(fromByteOffset: offset, as: Int8.self)
    }
    @inline(__always) func u16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) func u32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    /// An IEEE half field, widened to `Float`.
    @inline(__always) func half(_ offset: Int) -> Float {
        halfToFloat(u16(offset))
    }
    @inline(__always) func f32(_ offset: Int) -> Float {
        Float(bitPattern: u32(offset))
    }
}
