import GGUF
import TensorFormats

/// A weight matrix inside the memory-mapped GGUF file: `rows` rows of `cols` elements of a
/// ggml type. Nothing is copied; rows are decoded as they are used.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let rowBytes: Int
    let base: UnsafeRawPointer
    #if arch(x86_64)
    /// The copy decoded tokens multiply with where the CPU has a kernel for it (`InterleavedWeights`).
    private(set) var interleaved: InterleavedWeights?
    #endif

    init(file: GGUFFile, info: GGUFTensorInfo) throws(ModelError) {
        guard info.type.canDequantize, info.type.hasDotKernel else {
            throw .unsupportedTensorType(tensor: info.name, type: info.type.description)
        }
        name = info.name
        type = info.type
        cols = info.rowLength
        rows = info.rowCount
        rowBytes = info.rowBytes
        base = UnsafeRawPointer(file.data(of: info).baseAddress!)
    }

    /// This matrix with an interleaved copy for the matrix products where the CPU and type have
    /// one. The copy replaces the file's pages in memory (they are dropped, and read back only
    /// if llama.cpp's numerics are asked for; row lookups decode the copy).
    func withInterleavedCopy(from file: GGUFFile) -> WeightMatrix {
        var m = self
        #if arch(x86_64)
        let info = file.tensor(named: name)
        m.interleaved = InterleavedWeights(type: type, base: base, rowBytes: rowBytes, rows: rows, cols: cols) { bytes in
            if let info { file.dropPages(of: info, bytes: bytes) }
        }
        #endif
        return m
    }

    /// Bytes of the interleaved copy (0 without one).
    var interleavedBytes: Int {
        #if arch(x86_64)
        interleaved?.byteCount ?? 0
        #else
        0
        #endif
    }

    @inline(__always) func row(_ r: Int) -> UnsafeRawPointer { base + r * rowBytes }

    /// Decodes row `r` into `dst` (`cols` floats).
    @inline(__always) func decodeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        #if arch(x86_64)
        if let interleaved { return interleaved.decodeRow(r, into: dst) }
        #endif
        // Rows of a loaded matrix are whole blocks of a supported type, so this cannot fail.
        try! dequantize(type, from: row(r), count: cols, into: dst)
    }
}

/// Looks tensors up by name, with typed errors that name what is missing or malformed.
struct TensorLoader {
    let file: GGUFFile

    func matrix(_ name: String, cols: Int, rows: Int) throws(ModelError) -> WeightMatrix {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        guard info.rowLength == cols, info.rowCount == rows, info.shape.count <= 2 else {
            throw .badShape(tensor: name, shape: info.shape, expected: [cols, rows])
        }
        return try WeightMatrix(file: file, info: info)
    }

    func optionalMatrix(_ name: String, cols: Int, rows: Int) throws(ModelError) -> WeightMatrix? {
        file.tensor(named: name) == nil ? nil : try matrix(name, cols: cols, rows: rows)
    }

    /// A 1-D f32 tensor (norm weights, RoPE frequency factors), copied out of the file.
    func vector(_ name: String, count: Int) throws(ModelError) -> [Float] {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        guard info.elementCount == count else {
            throw .badShape(tensor: name, shape: info.shape, expected: [count])
        }
        guard info.type.canDequantize, info.type.hasDotKernel else {
            throw .unsupportedTensorType(tensor: name, type: info.type.description)
        }
        var out = [Float](repeating: 0, count: count)
        let data = file.data(of: info)
        out.withUnsafeMutableBufferPointer { try! dequantize(info.type, from: data.baseAddress!, count: count, into: $0.baseAddress!) }
        return out
    }

    func optionalVector(_ name: String, count: Int) throws(ModelError) -> [Float]? {
        file.tensor(named: name) == nil ? nil : try vector(name, count: count)
    }
}

/// Errors raised while loading or running a model.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    case missingMetadata(String)
    case missingTensor(String)
    case badShape(tensor: String, shape: [Int], expected: [Int])
    case unsupportedTensorType(tensor: String, type: String)
    case invalidHyperparameter(String)
    case promptTooLong(tokens: Int, context: Int)
    case tokenOutOfRange(token: Int32, vocabulary: Int)
    case insufficientMemory(needed: Int, available: Int)
    /// Quantized KV rows must be whole 32-element blocks per head.
    case unsupportedKVStorage(storage: String, keyLength: Int, valueLength: Int)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a): "unsupported model architecture '\(a)' (supported: \(Architectures.names.joined(separator: ", ")))"
        case .missingMetadata(let k): "the model file has no '\(k)' metadata"
        case .missingTensor(let n): "the model file has no tensor '\(n)'"
        case .badShape(let t, let s, let e): "tensor '\(t)' has shape \(s), expected \(e)"
        case .unsupportedTensorType(let t, let ty): "tensor '\(t)' has type \(ty), which this engine cannot decode"
        case .invalidHyperparameter(let m): "invalid hyper-parameter: \(m)"
        case .promptTooLong(let n, let c): "the prompt is \(n) tokens long but the context holds \(c) tokens"
        case .tokenOutOfRange(let t, let v): "token id \(t) is outside the vocabulary of \(v) tokens"
        case .unsupportedKVStorage(let st, let k, let v):
            "KV storage \(st) needs heads of whole 32-element blocks (q4: whole groups of its layout, for keys and values together); this model's keys are \(k) and values \(v) long"
        case .insufficientMemory(let need, let avail):
            "the model needs about \(need / (1 << 20)) MiB (weights + KV cache) but only \(avail / (1 << 20)) MiB are available"
        }
    }
}
