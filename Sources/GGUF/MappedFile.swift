#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. Weights are paged in by the kernel on demand and
/// shared between processes, so a model never costs heap memory for its tensors.
public final class MappedFile: @unchecked Sendable {
    public let bytes: UnsafeRawBufferPointer
    public let path: String

    /// Maps `path`; the error string says why not (missing file, a directory, permissions).
    public init(path: String) throws(GGUFError) {
        self.path = path
        ownsHeapCopy = false
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError(file: path, .cannotOpen(reason: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError(file: path, .cannotOpen(reason: String(cString: strerror(errno)))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw GGUFError(file: path, .cannotOpen(reason: "not a regular file")) }
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw GGUFError(file: path, .cannotOpen(reason: "mmap failed: \(String(cString: strerror(errno)))"))
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    private let ownsHeapCopy: Bool

    /// Lets the system take back the pages wholly inside `range` (byte offsets) from this
    /// process's memory: a copy made elsewhere replaces them, and if touched again they are read
    /// back from the file. Nothing happens to a heap copy.
    public func dropPages(_ range: Range<Int>) {
        guard !ownsHeapCopy, let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (range.lowerBound + page - 1) / page * page, hi = min(range.upperBound, bytes.count) / page * page
        guard lo < hi else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + lo), hi - lo, MADV_DONTNEED)
    }

    /// Holds a heap copy of `contents` under a display name; for parsing in-memory files.
    public init(copying contents: [UInt8], name: String) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(contents.count, 1), alignment: 64)
        buffer.copyBytes(from: contents)
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<contents.count])
        path = name
        ownsHeapCopy = true
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if ownsHeapCopy {
            base.deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
