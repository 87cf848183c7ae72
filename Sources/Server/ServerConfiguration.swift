import Foundation

/// How `RDICServer` listens and whom it serves.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported by `RDICServer.run(onReady:)`).
    public var port = 8080
    /// One tenant per key. Empty: no authentication, which is allowed on loopback only.
    public var apiKeys: [String] = []
    /// The id `/v1/models` lists and requests must name.
    public var modelName: String
    /// Other names accepted in a request's `model` (e.g. the GGUF file name).
    public var modelAliases: [String] = []
    /// Request bodies over this many bytes get 413.
    public var maxBodyBytes = 8 << 20
    /// `Retry-After` sent with 429.
    public var retryAfterSeconds = 1

    public init(modelName: String, host: String = "127.0.0.1", port: Int = 8080, apiKeys: [String] = []) {
        self.modelName = modelName
        self.host = host
        self.port = port
        self.apiKeys = apiKeys
    }

    /// Keys from `RDIC_API_KEYS` (comma-separated), trimmed, empty entries dropped.
    public static func apiKeys(fromEnvironment value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Throws when the server would be open to the network without any key.
    public func validate() throws {
        guard apiKeys.isEmpty, !Self.isLoopback(host) else { return }
        throw ServerError.openOnNetwork(host: host)
    }

    static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        return lower == "localhost" || lower == "::1" || lower == "[::1]" || lower.hasPrefix("127.")
    }

    func accepts(model: String) -> Bool { model == modelName || modelAliases.contains(model) }
}

public enum ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    case openOnNetwork(host: String)

    public var description: String {
        switch self {
        case .openOnNetwork(let host):
            "refusing to listen on \(host) without an API key: pass --api-key (or set RDIC_API_KEYS), or listen on 127.0.0.1"
        }
    }
}
