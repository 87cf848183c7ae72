import Foundation
import GGUF
import TensorFormats

/// The hyper-parameters that give a model its size: what a synthetic file copies from a real
/// model it cannot hold (Gemma 3 12B, the model of record, is a 7 GB download).
public struct ModelShape: Sendable, Equatable {
    public var architecture: String
    public var name: String
    public var layers: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var heads: Int
    public var kvHeads: Int
    public var headSize: Int
    public var contextLength: Int
    /// Sliding-window layers' window, or nil when every layer is global.
    public var slidingWindow: Int?
    /// Every `slidingPattern`-th layer is global (Gemma 3: 6).
    public var slidingPattern: Int
    public var ropeBase: Float
    /// Linear RoPE scaling factor of the global layers (Gemma 3 12B: 8), or nil.
    public var ropeScaling: Float?
    public var rmsEpsilon: Float

    public init(architecture: String, name: String, layers: Int, embeddingLength: Int, feedForwardLength: Int,
                heads: Int, kvHeads: Int, headSize: Int, contextLength: Int, slidingWindow: Int? = nil,
                slidingPattern: Int = 6, ropeBase: Float, ropeScaling: Float? = nil, rmsEpsilon: Float) {
        self.architecture = architecture
        self.name = name
        self.layers = layers
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.heads = heads
        self.kvHeads = kvHeads
        self.headSize = headSize
        self.contextLength = contextLength
        self.slidingWindow = slidingWindow
        self.slidingPattern = slidingPattern
        self.ropeBase = ropeBase
        self.ropeScaling = ropeScaling
        self.rmsEpsilon = rmsEpsilon
    }

    /// Gemma 3 12B as published (Google's config; llama.cpp's GGUF keys).
    public static let gemma3_12B = ModelShape(
        architecture: "gemma3", name: "Gemma 3 12B", layers: 48, embeddingLength: 3840, feedForwardLength: 15_360,
        heads: 16, kvHeads: 8, headSize: 256, contextLength: 131_072, slidingWindow: 1024, slidingPattern: 6,
        ropeBase: 1_000_000, ropeScaling: 8, rmsEpsilon: 1e-6)

    /// Llama 3.1 8B as published, the model the researchers migrated from (its RoPE frequency
    /// factors are left out: they change which positions rotate how fast, not the work).
    public static let llama31_8B = ModelShape(
        architecture: "llama", name: "Llama 3.1 8B", layers: 32, embeddingLength: 4096, feedForwardLength: 14_336,
        heads: 32, kvHeads: 8, headSize: 128, contextLength: 131_072, ropeBase: 500_000, rmsEpsilon: 1e-5)

    /// Shapes `rdic model synthesize` offers by name.
    public static let presets: [String: ModelShape] = ["gemma3-12b": .gemma3_12B, "llama3.1-8b": .llama31_8B]
}

/// What a tensor of a synthetic file is, so a type plan can choose its type as a quantizer would.
public enum SyntheticTensorRole: Sendable, Equatable {
    case norm
    case embeddings
    case attentionQuery, attentionKey, attentionValue, attentionOutput
    case feedForwardGate, feedForwardUp, feedForwardDown
}

public struct SyntheticTensor: Sendable, Equatable {
    public var name: String
    /// GGUF order: row length first.
    public var shape: [Int]
    public var role: SyntheticTensorRole
    public var layer: Int?
}

/// A GGUF file with a real model's shape and random weights, for measuring speed and memory on
/// shapes too large to have here. Every hyper-parameter and tensor shape is the real model's,
/// the tensor types are a quantizer's, and the weights are random blocks of plausible size, so
/// the work per token is the real model's while the text it writes is noise. The tokenizer is
/// copied from a real file of the same family. The file says `rdic.synthetic = true`.
public struct SyntheticModel: Sendable {
    public var shape: ModelShape
    public var tensors: [SyntheticTensor]
    public var types: [GGMLType]
    public var vocabulary: Int

    /// `shape` with `vocabulary` rows of embeddings (the tokenizer's), tensor types chosen by
    /// `plan` (default: llama.cpp's Q4_K_M rules).
    public init(shape: ModelShape, vocabulary: Int,
                plan: @Sendable (SyntheticTensor, _ layers: Int) -> GGMLType = SyntheticModel.q4KM) throws(ModelError) {
        guard let architecture = Architectures.registered.first(where: { $0.name == shape.architecture }) else {
            throw .unsupportedArchitecture(shape.architecture)
        }
        self.shape = shape
        self.vocabulary = vocabulary
        tensors = architecture.tensors(of: shape, vocabulary: vocabulary)
        types = tensors.map { plan($0, shape.layers) }
        for (t, type) in zip(tensors, types) where type.byteCount(elements: t.shape.reduce(1, *)) == nil || t.shape[0] % type.blockSize != 0 {
            throw .invalidHyperparameter("\(t.name): rows of \(t.shape[0]) elements are not whole \(type) blocks of \(type.blockSize)")
        }
    }

    /// llama.cpp's Q4_K_M choice (`llama_tensor_get_type`): Q6_K for the (tied) output
    /// embeddings and for the value and down projections of the first and last eighth of the
    /// layers and every third between; Q4_K for the other matrices; norms f32.
    public static let q4KM: @Sendable (SyntheticTensor, Int) -> GGMLType = { t, layers in
        func moreBits(_ i: Int) -> Bool { i < layers / 8 || i >= 7 * layers / 8 || (i - layers / 8) % 3 == 2 }
        switch t.role {
        case .norm: return .f32
        case .embeddings: return .q6_K
        case .attentionValue, .feedForwardDown: return moreBits(t.layer ?? 0) ? .q6_K : .q4_K
        default: return .q4_K
        }
    }

    /// Bytes of tensor data in the file.
    public var tensorBytes: Int {
        zip(tensors, types).reduce(0) { $0 + $1.1.byteCount(elements: $1.0.shape.reduce(1, *))! }
    }

    /// Parameters (elements of every tensor).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// The file's metadata: the shape's keys, then `tokenizer.*` from `donor`.
    public func metadata(tokenizerFrom donor: GGUFMetadata, seed: UInt64) -> GGUFMetadata {
        var m = GGUFMetadata()
        let arch = shape.architecture
        m["general.architecture"] = .string(arch)
        m["general.name"] = .string("\(shape.name) shape, synthetic weights")
        m["rdic.synthetic"] = .bool(true)
        m["rdic.synthetic.seed"] = .uint64(seed)
        m["\(arch).context_length"] = .uint32(UInt32(shape.contextLength))
        m["\(arch).embedding_length"] = .uint32(UInt32(shape.embeddingLength))
        m["\(arch).block_count"] = .uint32(UInt32(shape.layers))
        m["\(arch).feed_forward_length"] = .uint32(UInt32(shape.feedForwardLength))
        m["\(arch).attention.head_count"] = .uint32(UInt32(shape.heads))
        m["\(arch).attention.head_count_kv"] = .uint32(UInt32(shape.kvHeads))
        m["\(arch).attention.key_length"] = .uint32(UInt32(shape.headSize))
        m["\(arch).attention.value_length"] = .uint32(UInt32(shape.headSize))
        m["\(arch).attention.layer_norm_rms_epsilon"] = .float32(shape.rmsEpsilon)
        m["\(arch).rope.freq_base"] = .float32(shape.ropeBase)
        m["\(arch).vocab_size"] = .uint32(UInt32(vocabulary))
        if let window = shape.slidingWindow {
            m["\(arch).attention.sliding_window"] = .uint32(UInt32(window))
            m["\(arch).attention.sliding_window_pattern"] = .uint32(UInt32(shape.slidingPattern))
        }
        if let factor = shape.ropeScaling {
            m["\(arch).rope.scaling.type"] = .string("linear")
            m["\(arch).rope.scaling.factor"] = .float32(factor)
        }
        for key in donor.keys where key.hasPrefix("tokenizer.") { m[key] = donor[key] }
        return m
    }

    /// Writes the file atomically, one tensor at a time (a 12B file never sits in memory).
    /// The same seed gives the same bytes. `progress(done, total)` is called after each tensor.
    public func write(to url: URL, tokenizerFrom donor: GGUFFile, seed: UInt64 = 0,
                      progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws {
        let donorTokens = donor.metadata.strings("tokenizer.ggml.tokens")?.count ?? 0
        guard donorTokens == vocabulary else {
            throw ModelError.invalidHyperparameter("the tokenizer has \(donorTokens) tokens but the shape was made for \(vocabulary)")
        }
        let total = tensorBytes
        let folder = url.deletingLastPathComponent().path
        if let free = (try? FileManager.default.attributesOfFileSystem(forPath: folder))?[.systemFreeSize] as? Int,
           free < total + (64 << 20) {
            throw SyntheticModelError.notEnoughSpace(folder: folder, needed: total, free: free)
        }
        let writer = GGUFWriter(metadata: metadata(tokenizerFrom: donor.metadata, seed: seed))
        let headers = zip(tensors, types).map { GGUFWriter.TensorHeader(name: $0.name, type: $1, shape: $0.shape) }
        var done = 0
        try writer.write(to: url, tensors: headers) { i in
            var random = SplitMix(seed: seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
            let bytes = SyntheticBlocks.make(headers[i].type, elements: headers[i].shape.reduce(1, *),
                                             fanIn: headers[i].shape[0], random: &random)
            done += bytes.count
            progress(done, total)
            return bytes
        }
    }
}

public enum SyntheticModelError: Error, Equatable, CustomStringConvertible {
    case notEnoughSpace(folder: String, needed: Int, free: Int)

    public var description: String {
        switch self {
        case .notEnoughSpace(let folder, let needed, let free):
            "the file needs \(needed >> 20) MiB but \(folder) has \(free >> 20) MiB free"
        }
    }
}

/// Random quantized blocks whose weights have the spread of a trained layer's (standard
/// deviation about 1/sqrt(fan-in), zero mean), so activations stay in a trained model's range
/// through the norms and the work is ordinary floating point (no infinities, no subnormals).
enum SyntheticBlocks {
    static func make(_ type: GGMLType, elements: Int, fanIn: Int, random: inout SplitMix) -> [UInt8] {
        if type == .f32 {
            // Norm weights: llama.cpp's files hold Gemma's (1 + w), so 1 is "no change" for both.
            return [Float](repeating: 1, count: elements).withUnsafeBytes { Array($0) }
        }
        let blocks = elements / type.blockSize
        var bytes = [UInt8](repeating: 0, count: blocks * type.blockBytes)
        bytes.withUnsafeMutableBytes { random.fill($0) }
        // Embeddings are looked up, not multiplied: a trained model's rows have about unit spread
        // once Gemma scales them by sqrt(d), so 1/sqrt(d) before.
        let deviation = Float(1) / Float(fanIn).squareRoot()
        bytes.withUnsafeMutableBytes { raw in
            for b in 0..<blocks {
                let block = raw.baseAddress! + b * type.blockBytes
                switch type {
                case .q4_K:
                    // Twelve scale bytes of 0x88 give sub-block scales and minimums 8 (first four)
                    // and 40 (last four): w = d·s·q − dmin·s with dmin = 7.5 d is zero-mean over
                    // q in 0...15 (standard deviation 4.6 d·s; s has a root mean square of 28.8).
                    let d = deviation / (4.6 * 28.8)
                    block.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
                    block.storeBytes(of: Float16(7.5 * d).bitPattern, toByteOffset: 2, as: UInt16.self)
                    for k in 0..<12 { block.storeBytes(of: 0x88, toByteOffset: 4 + k, as: UInt8.self) }
                case .q6_K:
                    // Sixteen scales of 16: w = d·16·(q − 32), q in 0...63 (standard deviation 18.5).
                    for k in 0..<16 { block.storeBytes(of: 16, toByteOffset: 192 + k, as: Int8.self) }
                    block.storeBytes(of: Float16(deviation / (16 * 18.5)).bitPattern, toByteOffset: 208, as: UInt16.self)
                case .q8_0:
                    block.storeBytes(of: Float16(deviation / 73.9).bitPattern, as: UInt16.self)
                case .q4_0, .q5_0:
                    // Their quants are offset by 8 (16): the mean is half a step below zero, so
                    // every other block's scale is negative and the two halves cancel.
                    let d = deviation / (type == .q4_0 ? 4.6 : 9.2)
                    block.storeBytes(of: Float16(b % 2 == 0 ? d : -d).bitPattern, as: UInt16.self)
                default:
                    preconditionFailure("no synthetic blocks for \(type)")
                }
            }
        }
        return bytes
    }
}

/// SplitMix64: a fast, seedable stream of random bytes.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var i = 0
        while i + 8 <= buffer.count {
            buffer.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        var last = next()
        while i < buffer.count {
            buffer[i] = UInt8(truncatingIfNeeded: last)
            last >>= 8
            i += 1
        }
    }
}
