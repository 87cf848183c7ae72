import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Engine
import KVCache
import ModelStore

/// Why a session command was refused.
enum SessionStoreError: Error, CustomStringConvertible, Equatable {
    case invalidName(String)
    case notFound(name: String, known: [String])
    case exists(path: String)
    case notASession(path: String, reason: String)
    case damaged(SessionFileError)
    case modelMismatch(model: String, session: String)
    case noModelToDecode(session: String)
    case writeFailed(path: String, reason: String)

    var description: String {
        switch self {
        case .invalidName(let n):
            "invalid session name '\(n)': use letters, digits, '.', '_' and '-' (not starting with '.')"
        case .notFound(let n, let known):
            "no saved session named '\(n)'" + (known.isEmpty ? " (none saved yet)" : "; saved: \(known.joined(separator: ", "))")
        case .exists(let p): "\(p) already exists (use --force to replace it)"
        case .notASession(let p, let r): "\(p) is not an rdic session file: \(r)"
        case .damaged(let e): "\(e)"
        case .modelMismatch(let m, let s): "model \(m) is not the model session '\(s)' was saved from"
        case .noModelToDecode(let s):
            "session '\(s)' does not record its model file, or that file is gone; pass --model to decode its tokens"
        case .writeFailed(let p, let r): "cannot write \(p): \(r)"
        }
    }
}

/// Where named sessions live: `<model store home>/sessions/NAME.safetensors`.
enum SessionStore {
    static var directory: URL {
        ModelStore.fromEnvironment().home.appendingPathComponent("sessions", isDirectory: true)
    }

    /// Names become file names, so they are kept to characters that are safe in any shell and
    /// cannot walk out of the sessions folder.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The file of session `name` (which need not exist yet).
    static func url(_ name: String) throws(SessionStoreError) -> URL {
        guard isValidName(name) else { throw .invalidName(name) }
        return directory.appendingPathComponent(name + ".safetensors")
    }

    /// The file of a saved session, or `notFound` naming the saved ones.
    static func existing(_ name: String) throws(SessionStoreError) -> URL {
        let url = try url(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(name: name, known: names()) }
        return url
    }

    static func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(".safetensors".count)) }.sorted()
    }

    /// The header of an rdic session file after every check short of the model's (format,
    /// version, checksum): a damaged file is never copied in or out of the store.
    static func verifiedHeader(_ url: URL) throws(SessionStoreError) -> [String: String] {
        do { return try SessionFile.verify(path: url.path) } catch {
            switch error {
            case .notASession: throw .notASession(path: url.path, reason: "no '\(SessionFile.formatName)' header")
            case .unreadable(let reason): throw .notASession(path: url.path, reason: "\(reason)")
            default: throw .damaged(error)
            }
        }
    }

    /// The header of an rdic session file (checked to be one; the full checks run on restore).
    static func header(_ url: URL) throws(SessionStoreError) -> [String: String] {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: url.path) } catch { throw .notASession(path: url.path, reason: "\(error)") }
        guard file.metadata["format"] == SessionFile.formatName else {
            throw .notASession(path: url.path, reason: "no '\(SessionFile.formatName)' header")
        }
        return file.metadata
    }

    /// The named session if saved (refusing damaged or foreign files), else a new one.
    static func open(_ name: String, engine: Engine, contextLength: Int, options: EngineOptions) throws -> Session {
        let url = try url(name)
        if FileManager.default.fileExists(atPath: url.path) { return try engine.restoreSession(from: url.path) }
        return engine.makeSession(contextLength: contextLength, kv: try options.kv.storage())
    }

    /// Saves `session` as `name`, recording the model file so `rdic session export` can decode
    /// the tokens without being told the model again.
    static func save(_ session: Session, as name: String, extra: [String: String] = [:]) throws {
        let url = try url(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var extra = extra
        extra["model_path"] = URL(fileURLWithPath: session.engine.path).standardizedFileURL.path
        try session.save(to: url, extra: extra)
    }
}

/// Writes files so that the destination is either absent or complete: the bytes go to a
/// temporary file beside it and are synced first; then the file is linked into place, which
/// fails if the destination exists (no overwrite), or renamed over it (overwrite).
enum ExclusiveFile {
    static func copy(from source: URL, to destination: URL, overwrite: Bool) throws(SessionStoreError) {
        let bytes: Data
        do { bytes = try Data(contentsOf: source, options: .alwaysMapped) } catch {
            throw .writeFailed(path: destination.path, reason: "cannot read \(source.path): \(error.localizedDescription)")
        }
        try write(bytes, to: destination, overwrite: overwrite)
    }

    static func write(_ bytes: Data, to destination: URL, overwrite: Bool) throws(SessionStoreError) {
        let path = destination.path
        func failure(_ what: String) -> SessionStoreError { .writeFailed(path: path, reason: "\(what): \(String(cString: strerror(errno)))") }
        if !overwrite && FileManager.default.fileExists(atPath: path) { throw .exists(path: path) }
        let directory = destination.deletingLastPathComponent().path
        let temp = directory + "/.\(destination.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw failure("create") }
        defer { unlink(temp) }
        var written = 0
        let ok = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let err = errno
        close(fd)
        guard ok else { errno = err; throw failure("write") }
        if overwrite {
            guard rename(temp, path) == 0 else { throw failure("rename") }
        } else {
            guard link(temp, path) == 0 else {
                if errno == EEXIST { throw .exists(path: path) }
                throw failure("link")
            }
        }
        let dirfd = open(directory, O_RDONLY)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}
