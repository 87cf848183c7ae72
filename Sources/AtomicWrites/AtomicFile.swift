import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Why an atomic write did not happen. The destination is then untouched.
public enum AtomicFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The destination exists and the write was not allowed to replace it.
    case exists(path: String)
    case writeFailed(path: String, reason: String)

    public var reason: String {
        switch self {
        case .exists: "the file exists"
        case .writeFailed(_, let reason): reason
        }
    }

    public var description: String {
        switch self {
        case .exists(let path): "\(path) already exists (use --force to replace it)"
        case .writeFailed(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}

/// The project's one way to write a file that readers (and a crash, or `kill -9`) only ever
/// see whole: the bytes go to a temporary file beside the destination and are synced; then the
/// file is renamed over the destination, or, when replacing is not allowed, linked into place
/// (which fails if the destination exists, with no window between check and write); last the
/// folder is synced so the new name survives a power cut.
public enum AtomicFile {
    /// `parts` may be lazy: each is made when its turn comes, so a file larger than memory can be
    /// written whole.
    public static func write(_ parts: some Sequence<[UInt8]>, to url: URL, overwrite: Bool = true) throws(AtomicFileError) {
        try write(to: url, overwrite: overwrite) { fd in
            for part in parts {
                guard part.withUnsafeBytes({ writeAll(fd, $0) }) else { return false }
            }
            return true
        }
    }

    public static func write(_ data: Data, to url: URL, overwrite: Bool = true) throws(AtomicFileError) {
        try write(to: url, overwrite: overwrite) { fd in data.withUnsafeBytes { writeAll(fd, $0) } }
    }

    /// Copies `source` to `destination` atomically (the source is read whole first).
    public static func copy(from source: URL, to destination: URL, overwrite: Bool) throws(AtomicFileError) {
        let bytes: Data
        do { bytes = try Data(contentsOf: source, options: .alwaysMapped) } catch {
            throw .writeFailed(path: destination.path, reason: "cannot read \(source.path): \(error.localizedDescription)")
        }
        try write(bytes, to: destination, overwrite: overwrite)
    }

    private static func write(to url: URL, overwrite: Bool, body: (Int32) -> Bool) throws(AtomicFileError) {
        let path = url.path
        func failure(_ what: String) -> AtomicFileError { .writeFailed(path: path, reason: "\(what): \(String(cString: strerror(errno)))") }
        if !overwrite && FileManager.default.fileExists(atPath: path) { throw .exists(path: path) }
        let directory = url.deletingLastPathComponent().path
        let temp = directory + "/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw failure("create") }
        defer { unlink(temp) }
        let ok = body(fd) && fsync(fd) == 0
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

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + written, bytes.count - written)
            if n <= 0 { return false }
            written += n
        }
        return true
    }
}
