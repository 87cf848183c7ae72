import Foundation
import Synchronization

/// A persistent pool of worker threads that split loops (matmul rows, attention heads).
///
/// Workers are created once and park on a condition variable between jobs, so an idle engine
/// uses no CPU. The calling thread takes part in every job. Work is handed out in chunks from
/// an atomic counter, so a core that is busy with something else slows its share, not the job.
public final class ThreadPool: @unchecked Sendable {
    /// Threads taking part in a job, the caller included.
    public let threadCount: Int

    private let lock = NSCondition()
    private var generation = 0
    private var job: ((Int, Int) -> Void)?   // (chunk index, worker index)
    private var chunkCount = 0
    private let nextChunk = Atomic<Int>(0)
    private var running = 0
    private var shuttingDown = false

    /// Starts `threads - 1` workers (the caller is the last one). Default: one per core.
    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        threadCount = max(1, threads)
        for w in 1..<threadCount {
            // Workers hold the pool strongly: a pool lives until `shutdown()`.
            let t = Thread { self.workerLoop(index: w) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Stops the workers once they are idle. The pool must not be used afterwards.
    public func shutdown() {
        lock.lock()
        shuttingDown = true
        lock.broadcast()
        lock.unlock()
    }

    /// Runs `body(chunk, worker)` for every chunk in `0..<chunks`, spread over the pool, and
    /// returns when all have run. `worker` is in `0..<threadCount` and is unique among the
    /// chunks running at once, so it can index per-thread scratch memory.
    public func run(chunks: Int, _ body: (Int, Int) -> Void) {
        if chunks <= 0 { return }
        if threadCount == 1 || chunks == 1 {
            for c in 0..<chunks { body(c, 0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            lock.lock()
            job = escapable
            chunkCount = chunks
            nextChunk.store(0, ordering: .relaxed)
            running = threadCount - 1
            generation &+= 1
            lock.broadcast()
            lock.unlock()
            drain(body: escapable, worker: 0)
            lock.lock()
            while running > 0 { lock.wait() }
            job = nil
            lock.unlock()
        }
    }

    /// Splits `0..<count` into about `4 * threadCount` contiguous ranges (at least `minChunk`
    /// long) and runs `body(range, worker)` on each.
    public func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>, Int) -> Void) {
        if count <= 0 { return }
        let target = max(1, min(threadCount * 4, count / max(1, minChunk)))
        let size = (count + target - 1) / target
        let chunks = (count + size - 1) / size
        run(chunks: chunks) { c, w in
            body((c * size)..<min(count, (c + 1) * size), w)
        }
    }

    @inline(__always) private func drain(body: (Int, Int) -> Void, worker: Int) {
        while true {
            let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if c >= chunkCount { return }
            body(c, worker)
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        lock.lock()
        while true {
            while generation == seen && !shuttingDown { lock.wait() }
            if shuttingDown { lock.unlock(); return }
            seen = generation
            let body = job!
            lock.unlock()
            drain(body: body, worker: index)
            lock.lock()
            running -= 1
            if running == 0 { lock.broadcast() }
        }
    }
}
