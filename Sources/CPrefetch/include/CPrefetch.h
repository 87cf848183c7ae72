#ifndef RDIC_CPREFETCH_H
#define RDIC_CPREFETCH_H

/// A software prefetch of the cache line at `p` into all cache levels. Swift has no way to
/// emit `prefetcht0` (clang's `_mm_prefetch` is a macro, and Swift drops the
/// `__builtin_prefetch` in the imported `_m_prefetch`), so the byte-dot kernels that stream
/// weights from DRAM call this one-line inline function.
static inline __attribute__((always_inline)) void rdic_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

#endif
