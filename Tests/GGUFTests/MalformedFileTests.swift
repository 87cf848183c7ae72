import Foundation
import GGUF
import TensorFormats
import Testing

/// Byte-level GGUF builder that can express invalid files the writer never produces.
struct RawGGUF {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
        bytes += Array("GGUF".utf8); u32(version); u64(tensors); u64(kvs)
    }
    mutating func tensor(_ name: String, shape: [UInt64], type: UInt32 = 0, offset: UInt64) {
        str(name); u32(UInt32(shape.count)); shape.forEach { u64($0) }; u32(type); u64(offset)
    }
    mutating func padData(_ count: Int) {
        while bytes.count % 32 != 0 { bytes.append(0) }
        bytes += [UInt8](repeating: 0, count: count)
    }
}

func parse(_ bytes: [UInt8]) throws(GGUFError) -> GGUFFile {
    try GGUFFile(mapping: MappedFile(copying: bytes, name: "test.gguf"))
}

func problem(_ bytes: [UInt8]) -> GGUFError.Problem? {
    do { _ = try parse(bytes); return nil } catch { return error.problem }
}

@Suite struct MalformedFileTests {
    @Test func missingFileNamesThePath() {
        #expect {
            _ = try GGUFFile(path: "/nonexistent/model.gguf")
        } throws: { error in
            let e = error as! GGUFError
            return e.file == "/nonexistent/model.gguf" && "\(e)".contains("No such file")
        }
    }

    @Test func directoryIsNotAModel() {
        #expect(throws: GGUFError(file: "/tmp", .cannotOpen(reason: "not a regular file"))) { try GGUFFile(path: "/tmp") }
    }

    @Test func emptyAndBadMagic() {
        #expect(problem([]) == .truncated(offset: 0, needed: 4, what: "magic"))
        #expect(problem(Array("GGML\u{3}\0\0\0".utf8)) == .notGGUF(magic: "47 47 4d 4c"))
    }

    @Test func versions() {
        var v1 = RawGGUF(); v1.header(version: 1, tensors: 0, kvs: 0)
        #expect(problem(v1.bytes) == .unsupportedVersion(1))
        var big = RawGGUF(); big.header(version: UInt32(3).byteSwapped, tensors: 0, kvs: 0)
        #expect(problem(big.bytes) == .bigEndian)
        var v2 = RawGGUF(); v2.header(version: 2, tensors: 0, kvs: 0)
        #expect(problem(v2.bytes) == nil)
    }

    @Test func absurdCounts() {
        var f = RawGGUF(); f.header(tensors: 1 << 60, kvs: 0)
        #expect(problem(f.bytes) == .implausibleCount(what: "tensor count", count: 1 << 60))
        var g = RawGGUF(); g.header(tensors: 0, kvs: .max)
        #expect(problem(g.bytes) == .implausibleCount(what: "metadata count", count: .max))
        var h = RawGGUF(); h.header(tensors: 0, kvs: 1); h.str("k"); h.u32(9); h.u32(0); h.u64(1 << 40)
        #expect(problem(h.bytes) == .implausibleCount(what: "k array length", count: 1 << 40))
    }

    @Test func stringLongerThanFile() {
        var f = RawGGUF(); f.header(tensors: 0, kvs: 1); f.u64(1_000_000); f.bytes += Array("abcdefghijklmnopqrstuvwxyz".utf8)
        #expect(problem(f.bytes) == .implausibleCount(what: "metadata key length", count: 1_000_000))
    }

    @Test func invalidValuesAndKeys() {
        var t = RawGGUF(); t.header(tensors: 0, kvs: 1); t.str("k"); t.u32(99)
        #expect(problem(t.bytes) == .unknownValueType(99, key: "k"))
        var d = RawGGUF(); d.header(tensors: 0, kvs: 2); d.str("k"); d.u32(4); d.u32(1); d.str("k"); d.u32(4); d.u32(2)
        #expect(problem(d.bytes) == .duplicateKey("k"))
        var u = RawGGUF(); u.header(tensors: 0, kvs: 1); u.str("k"); u.u32(8); u.u64(2); u.bytes += [0xff, 0xfe]
        #expect(problem(u.bytes) == .invalidUTF8(offset: u.bytes.count - 2))
        var n = RawGGUF(); n.header(tensors: 0, kvs: 1); n.str("k"); n.u32(9)
        for _ in 0..<6 { n.u32(9); n.u64(1) }
        n.u32(4); n.u64(0)
        #expect(problem(n.bytes) == .nestingTooDeep(key: "k"))
        var a = RawGGUF(); a.header(tensors: 0, kvs: 1); a.str("general.alignment"); a.u32(4); a.u32(48)
        #expect(problem(a.bytes) == .badAlignment(48))
    }

    @Test func tensorDirectoryChecks() {
        func file(_ build: (inout RawGGUF) -> Void, tensors: UInt64, data: Int) -> [UInt8] {
            var f = RawGGUF(); f.header(tensors: tensors, kvs: 0); build(&f); f.padData(data); return f.bytes
        }
        #expect(problem(file({ $0.tensor("w", shape: [8], offset: 0) }, tensors: 1, data: 16))
            == .tensorOutOfFile(tensor: "w", start: 0, bytes: 32, available: 16))
        #expect(problem(file({ $0.tensor("w", shape: [8], offset: 1 << 62) }, tensors: 1, data: 64))
            == .tensorOutOfFile(tensor: "w", start: 1 << 62, bytes: 32, available: 64))
        #expect(problem(file({ $0.tensor("a", shape: [16], offset: 0); $0.tensor("b", shape: [8], offset: 32) }, tensors: 2, data: 96))
            == .tensorsOverlap("a", "b"))
        #expect(problem(file({ $0.tensor("w", shape: [8], offset: 4) }, tensors: 1, data: 64))
            == .misalignedTensor(tensor: "w", offset: 4, alignment: 32))
        #expect(problem(file({ $0.tensor("w", shape: [8], type: 77, offset: 0) }, tensors: 1, data: 64))
            == .unknownTensorType(77, tensor: "w"))
        #expect(problem(file({ $0.tensor("w", shape: [33], type: GGMLType.q4_0.rawValue, offset: 0) }, tensors: 1, data: 64))
            == .invalidShape(tensor: "w", shape: [33], reason: "row length 33 is not a multiple of the Q4_0 block size 32"))
        #expect(problem(file({ $0.tensor("w", shape: [1 << 40, 1 << 40], offset: 0) }, tensors: 1, data: 64))
            == .invalidShape(tensor: "w", shape: [1 << 40, 1 << 40], reason: "element count overflows"))
        #expect(problem(file({ $0.tensor("w", shape: [0], offset: 0) }, tensors: 1, data: 64))
            == .invalidShape(tensor: "w", shape: [0], reason: "zero-sized dimension"))
        #expect(problem(file({ $0.tensor("w", shape: [8], offset: 0); $0.tensor("w", shape: [8], offset: 32) }, tensors: 2, data: 64))
            == .duplicateTensor("w"))
        #expect(problem(file({ $0.tensor("w", shape: [1, 1, 1, 1, 1], offset: 0) }, tensors: 1, data: 64))
            == .invalidShape(tensor: "w", shape: [], reason: "5 dimensions (at most 4)"))
    }

    /// Every prefix of a valid file is either rejected as truncated or, once the header and all
    /// tensor data are present, accepted.
    @Test func everyTruncationIsReported() throws {
        let bytes = try WriterRoundTripTests.sampleFile().encoded()
        let full = try parse(bytes)
        let needed = full.tensors.map { full.dataOffset + $0.relativeOffset + $0.byteCount }.max()!
        for length in 0..<bytes.count {
            let p = problem(Array(bytes[..<length]))
            if length >= needed {
                #expect(p == nil)
            } else {
                switch p {
                case .truncated?, .implausibleCount?, .tensorOutOfFile?: break
                default: Issue.record("prefix of \(length) bytes gave \(String(describing: p))")
                }
            }
        }
    }

    /// Thousands of randomly mutated headers: the reader must return or throw, never crash or hang.
    @Test func fuzzMutatedHeaders() throws {
        let original = try WriterRoundTripTests.sampleFile().encoded()
        var rng = SplitMix64(seed: 0x5EED)
        var rejected = 0
        let iterations = 5000
        for _ in 0..<iterations {
            var bytes = original
            let headerEnd = min(bytes.count, 700)
            for _ in 0..<Int(rng.next() % 6 + 1) {
                let i = Int(rng.next() % UInt64(headerEnd))
                switch rng.next() % 4 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes[i] ^= 1 << UInt8(rng.next() % 8)
                case 2: bytes[i] = [0x00, 0xff, 0x7f, 0x80][Int(rng.next() % 4)]
                default: bytes.removeSubrange(i..<min(bytes.count, i + Int(rng.next() % 16)))
                }
            }
            if rng.next() % 8 == 0 { bytes = Array(bytes[..<Int(rng.next() % UInt64(bytes.count))]) }
            do {
                let f = try parse(bytes)
                for t in f.tensors { #expect(f.data(of: t).count == t.byteCount) }
            } catch {
                rejected += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(rejected > iterations / 4)
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
