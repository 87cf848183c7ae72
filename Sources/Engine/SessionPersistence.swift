import Foundation
import KVCache

/// Forking, saving and restoring sessions: the cache as a first-class object.
extension Session {
    /// A new session holding the same tokens, sharing this one's cache blocks copy-on-write.
    /// Both continue independently; the shared prefix is stored once.
    public func fork() -> Session {
        lock.lock()
        defer { lock.unlock() }
        let s = Session(engine: engine, cache: cache.fork())
        s.tokens = tokens
        return s
    }

    /// Writes the session atomically to `url` (see `SessionFile` for the layout and checks).
    public func save(to url: URL, extra: [String: String] = [:]) throws {
        lock.lock()
        defer { lock.unlock() }
        try SessionFile.write(cache: cache, tokens: tokens, fingerprint: engine.fingerprint, extra: extra, to: url)
    }
}

extension Engine {
    /// Rebuilds a saved session without recomputing anything; throws `SessionFileError` when
    /// the file is damaged, from another model or from another format version.
    public func restoreSession(from path: String) throws -> Session {
        let contents = try SessionFile.read(path: path, fingerprint: fingerprint,
                                            layers: model.cacheConfiguration(contextLength: 1).layers)
        let session = Session(engine: self, cache: contents.cache)
        session.tokens = contents.tokens
        return session
    }
}
