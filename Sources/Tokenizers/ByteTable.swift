/// A hash table from byte strings to ids, with every key stored in one contiguous buffer.
///
/// Why not `[String: Int32]`: Swift `String` equality is canonical equivalence, so two vocabulary
/// entries that differ only in Unicode normalisation would collide, and hashing a `String` costs
/// far more than hashing bytes. Lookups here take a raw byte range and never allocate, which is what
/// the merge loops need (they look up every candidate pair). Built once per vocabulary (262,144
/// entries for Gemma 3).
struct ByteTable: Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var starts: [Int32] = [0]
    /// Open addressing, linear probing; -1 marks an empty slot, otherwise the key's id.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        bytes.reserveCapacity(capacity * 8)
        starts.reserveCapacity(capacity + 1)
    }

    var count: Int { starts.count - 1 }

    /// The bytes of key `id`.
    @inline(__always)
    func key(_ id: Int32) -> ArraySlice<UInt8> {
        bytes[Int(starts[Int(id)])..<Int(starts[Int(id) + 1])]
    }

    @inline(__always)
    func keyLength(_ id: Int32) -> Int { Int(starts[Int(id) + 1] - starts[Int(id)]) }

    @inline(__always)
    static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        // FNV-1a, then a final mix so that the low bits used for the slot index are well spread.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        return h ^ (h >> 32)
    }

    /// The id of the key equal to `p`, or nil.
    func find(_ p: UnsafeBufferPointer<UInt8>) -> Int32? {
        var slot = Int(truncatingIfNeeded: Self.hash(p)) & mask
        return slots.withUnsafeBufferPointer { slots in
            bytes.withUnsafeBufferPointer { all in
                while true {
                    let id = slots[slot]
                    if id < 0 { return nil }
                    let s = Int(starts[Int(id)]), e = Int(starts[Int(id) + 1])
                    if e - s == p.count && (p.count == 0 || memcmp(all.baseAddress! + s, p.baseAddress!, p.count) == 0) {
                        return id
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    func find(_ key: [UInt8]) -> Int32? { key.withUnsafeBufferPointer { find($0) } }

    func find(_ key: ArraySlice<UInt8>) -> Int32? { key.withUnsafeBufferPointer { find($0) } }

    /// Adds `key` with the next id (`count`) unless present. Returns the key's id and whether it was new.
    @discardableResult
    mutating func insert(_ key: [UInt8]) -> (id: Int32, inserted: Bool) {
        if let id = find(key) { return (id, false) }
        if count * 2 >= slots.count { grow() }
        let id = Int32(count)
        bytes.append(contentsOf: key)
        starts.append(Int32(bytes.count))
        var slot = key.withUnsafeBufferPointer { Int(truncatingIfNeeded: Self.hash($0)) } & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = id
        return (id, true)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = Array(repeating: -1, count: size)
        mask = size - 1
        for id in 0..<count {
            let s = Int(starts[id]), e = Int(starts[id + 1])
            var slot = bytes.withUnsafeBufferPointer {
                Int(truncatingIfNeeded: Self.hash(UnsafeBufferPointer(rebasing: $0[s..<e])))
            } & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(id)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
