import GGUF

/// One supported architecture: how its hyper-parameters and layer weights are read from a GGUF
/// file. A new architecture is one file with a type conforming to this, added to
/// `Architectures.registered`; nothing else switches on architecture names.
protocol Architecture {
    /// `general.architecture` of its files.
    static var name: String { get }
    static func hyperparameters(_ file: GGUFFile) throws(ModelError) -> Hyperparameters
    static func layerWeights(_ t: TensorLoader, _ h: Hyperparameters, layer i: Int) throws(ModelError) -> LayerWeights
}

enum Architectures {
    static let registered: [any Architecture.Type] = [Gemma3.self, Llama.self]

    /// Names of the supported architectures, for messages.
    static var names: [String] { registered.map { $0.name } }

    /// The architecture of `file`, or `unsupportedArchitecture`.
    static func of(_ file: GGUFFile) throws(ModelError) -> any Architecture.Type {
        let name = file.metadata.architecture ?? "(none)"
        guard let architecture = registered.first(where: { $0.name == name }) else { throw .unsupportedArchitecture(name) }
        return architecture
    }
}
