import ModelStore

/// The tenant id the runtime sees: a SHA-256 prefix of the API key, so neither caches on disk
/// nor anything the runtime reports can reveal a key.
enum TenantID {
    /// The tenant of requests on a server without keys.
    static let open = "local"

    static func of(apiKey: String) -> String {
        var hasher = SHA256()
        hasher.update(Array(apiKey.utf8))
        return "t" + hasher.finalize().prefix(24)
    }
}
