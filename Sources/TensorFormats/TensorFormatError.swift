/// Why a tensor-format operation could not run.
public enum TensorFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// This package has no code for `type`. `tensor` names the tensor when the caller knows it.
    case unsupported(type: GGMLType, tensor: String?)
    /// `count` elements do not make a whole number of `type` blocks.
    case notWholeBlocks(type: GGMLType, count: Int)

    /// The same error, naming the tensor it happened on (callers deep in a model loader know the
    /// name, the format code does not).
    public func naming(tensor name: String) -> TensorFormatError {
        switch self {
        case .unsupported(let type, _): .unsupported(type: type, tensor: name)
        case .notWholeBlocks: self
        }
    }

    public var description: String {
        switch self {
        case .unsupported(let type, let tensor?):
            "tensor '\(tensor)' has type \(type), which rdic cannot compute with"
        case .unsupported(let type, nil):
            "tensor type \(type) is not supported by rdic"
        case .notWholeBlocks(let type, let count):
            "\(count) elements are not a whole number of \(type) blocks of \(type.blockSize)"
        }
    }
}
