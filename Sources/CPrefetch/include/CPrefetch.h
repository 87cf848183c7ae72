#ifndef RDIC_CPREFETCH_H
#define RDIC_CPREFETCH_H

/// A software prefetch of the cache line at `p` into all cache levels. Swift has no way to
/// emit `prefetcht0` (clang's `_mm_prefetch` is a macro, and Swift drops the
/// `__builtin_prefetch` in the imported `_m_prefetch`), so the byte-dot kernels that stream
/// weights from DRAM call this one-line inline function.
static inline __attribute__((always_inline)) void rdic_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

/// Prefetches the weight stream ahead of the `bytes` at `block` the interleaved kernels are
/// about to read, twice: 2 KiB ahead into L1 and 12 KiB ahead into L2. With one prefetch 4 KiB
/// ahead, a four-token pass over a 12B model's weights stalled on two thirds of its weight
/// loads and streamed ~21 GB/s (a one-token pass ~36): the far L2 prefetches keep more lines in
/// flight (Gemma 3 12B shape, 4-token pass 13 -> 17 t/s; one token unchanged). Without any
/// prefetch one token (Gemma 3 270M's 178 MB output matrix) streamed at ~80% of the row-major
/// kernels' rate. The AVX2 kernels call it on the first half's pass over a group-block.
static inline __attribute__((always_inline)) void rdic_prefetch_stream(const void *block, long bytes) {
    const char *p = (const char *)block;
    for (long line = 0; line < bytes; line += 64) {
        __builtin_prefetch(p + 2048 + line, 0, 3);
        __builtin_prefetch(p + 12288 + line, 0, 2);
    }
}

/// The `bytes` at `p` into L2 and L3 (`prefetcht1`): rows a loop reaches a while later.
static inline __attribute__((always_inline)) void rdic_prefetch_later(const void *p, long bytes) {
    const char *c = (const char *)p;
    for (long line = 0; line < bytes; line += 64) __builtin_prefetch(c + line, 0, 2);
}
#endif
