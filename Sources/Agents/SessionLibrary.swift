import AtomicWrites
import Engine
import Foundation
import KVCache

/// Why a named-session operation was refused.
public enum SessionLibraryError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalidName(String)
    case notFound(name: String, known: [String])
    case exists(path: String)
    case notASession(path: String, reason: String)
    case damaged(SessionFileError)
    case modelMismatch(model: String, session: String)
    case noModelToDecode(session: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
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

    init(_ error: AtomicFileError) {
        switch error {
        case .exists(let path): self = .exists(path: path)
        case .writeFailed(let path, let reason): self = .writeFailed(path: path, reason: reason)
        }
    }
}

/// Sessions saved by name in one folder (`<name>.safetensors`): what `rdic chat --session`,
/// `rdic generate --session` and `rdic session ...` use.
public struct SessionLibrary: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Names become file names, so they are kept to characters that are safe in any shell and
    /// cannot walk out of the sessions folder.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && !name.hasPrefix(".")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The file of session `name` (which need not exist yet).
    public func url(_ name: String) throws(SessionLibraryError) -> URL {
        guard Self.isValidName(name) else { throw .invalidName(name) }
        return directory.appendingPathComponent(name + ".safetensors")
    }

    /// The file of a saved session, or `notFound` naming the saved ones.
    public func existing(_ name: String) throws(SessionLibraryError) -> URL {
        let url = try url(name)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .notFound(name: name, known: names()) }
        return url
    }

    public func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(".safetensors".count)) }.sorted()
    }

    /// The header of an rdic session file after every check short of the model's (format,
    /// version, checksum): a damaged file is never copied in or out of the library.
    public static func verifiedHeader(_ url: URL) throws(SessionLibraryError) -> [String: String] {
        do { return try SessionFile.verify(path: url.path) } catch {
            switch error {
            case .notASession: throw .notASession(path: url.path, reason: "no '\(SessionFile.formatName)' header")
            case .unreadable(let reason): throw .notASession(path: url.path, reason: "\(reason)")
            default: throw .damaged(error)
            }
        }
    }

    /// The header of an rdic session file (checked to be one; the full checks run on restore).
    public static func header(_ url: URL) throws(SessionLibraryError) -> [String: String] {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: url.path) } catch { throw .notASession(path: url.path, reason: "\(error)") }
        guard file.metadata["format"] == SessionFile.formatName else {
            throw .notASession(path: url.path, reason: "no '\(SessionFile.formatName)' header")
        }
        return file.metadata
    }

    /// The named session if saved (refusing damaged or foreign files), else a new one.
    public func open(_ name: String, engine: Engine, contextLength: Int, kv: KVStorage) throws -> Session {
        let url = try url(name)
        if FileManager.default.fileExists(atPath: url.path) { return try engine.restoreSession(from: url.path) }
        return engine.makeSession(contextLength: contextLength, kv: kv)
    }

    /// Saves `session` as `name`, recording the model file so its tokens can be decoded later
    /// without being told the model again.
    public func save(_ session: Session, as name: String, extra: [String: String] = [:]) throws {
        let url = try url(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var extra = extra
        extra["model_path"] = URL(fileURLWithPath: session.engine.path).standardizedFileURL.path
        try session.save(to: url, extra: extra)
    }

    /// Copies a checked session file into the library as `name`.
    public func importFile(_ source: URL, as name: String, overwrite: Bool) throws {
        let destination = try url(name)
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw SessionLibraryError.notASession(path: source.path, reason: "no such file")
        }
        _ = try Self.verifiedHeader(source)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do { try AtomicFile.copy(from: source, to: destination, overwrite: overwrite) } catch { throw SessionLibraryError(error) }
    }
}
