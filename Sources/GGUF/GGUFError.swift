import TensorFormats

/// Why a GGUF file could not be read. Always names the file, and where it helps, the byte offset.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Problem: Equatable, Sendable {
        case cannotOpen(reason: String)
        case notGGUF(magic: String)
        case bigEndian
        case unsupportedVersion(UInt32)
        case truncated(offset: Int, needed: Int, what: String)
        case implausibleCount(what: String, count: UInt64)
        case invalidUTF8(offset: Int)
        case unknownValueType(UInt32, key: String)
        case nestingTooDeep(key: String)
        case duplicateKey(String)
        case badAlignment(Int)
        case unknownTensorType(UInt32, tensor: String)
        case invalidShape(tensor: String, shape: [UInt64], reason: String)
        case duplicateTensor(String)
        case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
        case tensorOutOfFile(tensor: String, start: UInt64, bytes: Int, available: Int)
        case tensorsOverlap(String, String)
    }

    public let file: String
    public let problem: Problem

    public init(file: String, _ problem: Problem) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(explanation)" }

    public var explanation: String {
        switch problem {
        case .cannotOpen(let reason): "cannot open: \(reason)"
        case .notGGUF(let magic): "not a GGUF file (magic bytes \(magic), expected \"GGUF\")"
        case .bigEndian: "big-endian GGUF files are not supported"
        case .unsupportedVersion(let v): "unsupported GGUF version \(v) (versions 2 and 3 are supported)"
        case .truncated(let offset, let needed, let what):
            offset == 0 && what == "magic" ? "empty or truncated file (\(needed) bytes needed for the magic)"
                : "truncated: \(what) at byte \(offset) needs \(needed) bytes, but the file ends first"
        case .implausibleCount(let what, let count): "implausible \(what): \(count) does not fit in the file"
        case .invalidUTF8(let offset): "string at byte \(offset) is not valid UTF-8"
        case .unknownValueType(let t, let key): "metadata key \"\(key)\" has unknown value type \(t)"
        case .nestingTooDeep(let key): "metadata key \"\(key)\" nests arrays too deeply"
        case .duplicateKey(let key): "metadata key \"\(key)\" appears twice"
        case .badAlignment(let a): "general.alignment \(a) is not a positive power of two"
        case .unknownTensorType(let t, let tensor): "tensor \"\(tensor)\" has unknown type id \(t)"
        case .invalidShape(let tensor, let shape, let reason): "tensor \"\(tensor)\" has invalid shape \(shape): \(reason)"
        case .duplicateTensor(let name): "tensor \"\(name)\" appears twice"
        case .misalignedTensor(let tensor, let offset, let alignment):
            "tensor \"\(tensor)\" data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .tensorOutOfFile(let tensor, let start, let bytes, let available):
            "tensor \"\(tensor)\" needs \(bytes) bytes at data offset \(start) but the data section holds \(available) bytes"
        case .tensorsOverlap(let a, let b): "tensors \"\(a)\" and \"\(b)\" overlap"
        }
    }
}
