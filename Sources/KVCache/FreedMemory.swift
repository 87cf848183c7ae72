import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Gives the pages of freed KV blocks back to the OS.
///
/// A 64-token block is tens of KiB, below glibc's mmap threshold, so blocks live in malloc's
/// heaps; freed, they stay resident until the heap is trimmed. A server that deletes or spills
/// agents would otherwise keep its peak size forever. Frees are counted here and, past a
/// threshold, one coalesced `malloc_trim` runs shortly after on a background queue. Other
/// allocators (Darwin's) return large free regions themselves: nothing to do there.
public enum FreedMemory {
    /// Freed bytes that trigger a trim.
    static let threshold = 8 << 20
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pending = 0
    nonisolated(unsafe) private static var scheduled = false

    static func note(freed bytes: Int) {
        #if canImport(Glibc)
        let schedule: Bool = lock.withLock {
            pending += bytes
            guard pending >= threshold, !scheduled else { return false }
            scheduled = true
            return true
        }
        if schedule {
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .milliseconds(100)) { release() }
        }
        #endif
    }

    /// Returns free heap pages to the OS now.
    public static func release() {
        lock.withLock {
            pending = 0
            scheduled = false
        }
        _ = mallocTrim?(0)
    }

    /// glibc's `malloc_trim` (declared in malloc.h, which Swift's Glibc module does not
    /// export), looked up once; nil on other C libraries.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}
