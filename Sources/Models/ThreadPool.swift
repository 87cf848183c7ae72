import Foundation
import Synchronization

/// A persistent pool of worker threads that split loops (matmul rows, attention heads).
///
/// A forward pass hands the pool hundreds of short jobs per token, so waking sleeping threads
/// for each would cost more than the work. Workers therefore spin briefly (a bounded number
/// of checks, tens of microseconds) for the next job, then park on a condition variable: an
/// idle engine uses no CPU. The calling thread takes part in every job. Work is handed out in
/// chunks from an atomic counter, so a core busy with something else slows its share only.
public final class ThreadPool: @unchecked Sendable {
    /// Threads taking part in a job, the caller included.
    public let threadCount: Int

    private let lock = NSCondition()
    private let generation = Atomic<Int>(0)
    /// Workers inside the current job.
    private let joined = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private var job: Job?
    private var chunkCount = 0
    private var sleepers = 0
    private var mainWaiting = false
    private var shuttingDown = false

    /// Checks of the job counter before a worker or the caller parks.
    static let spinLimit = 40_000

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
        generation.wrappingAdd(1, ordering: .releasing)
        lock.broadcast()
        lock.unlock()
    }

    /// Runs `body(chunk, worker)` for every chunk in `0..<chunks`, spread over the pool, and
    /// returns when all have run. `worker` is in `0..<threadCount` and is unique among the
    /// chunks running at once, so it can index per-thread scratch memory.
    ///
    /// Handing a closure to other threads costs one heap allocation (its context must outlive
    /// the caller's frame as far as the compiler can tell); the per-token path of a forward
    /// pass uses `run(chunks:job:)` instead, which allocates nothing.
    public func run(chunks: Int, _ body: (Int, Int) -> Void) {
        if chunks <= 0 { return }
        if threadCount == 1 || chunks == 1 {
            for c in 0..<chunks { body(c, 0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in dispatch(.closure(escapable), chunks: chunks) }
    }

    /// Runs `job.run(chunk:worker:)` for every chunk in `0..<chunks`, like `run(chunks:_:)`,
    /// without allocating: the job stays in the caller's frame and workers reach it through a
    /// pointer while the caller waits for them.
    public func run<J: PoolJob>(chunks: Int, job: J) {
        if chunks <= 0 { return }
        if threadCount == 1 || chunks == 1 {
            for c in 0..<chunks { job.run(chunk: c, worker: 0) }
            return
        }
        withUnsafePointer(to: job) { dispatch(.value(UnsafeRawPointer($0), J.self), chunks: chunks) }
    }

    private func dispatch(_ work: Job, chunks: Int) {
        lock.lock()
        job = work
        chunkCount = chunks
        nextChunk.store(0, ordering: .relaxed)
        generation.wrappingAdd(1, ordering: .releasing)
        if sleepers > 0 { lock.broadcast() }
        lock.unlock()

        drain(work, worker: 0)

        // Every chunk is taken. Close the job: a worker that has not joined yet (parked, or
        // descheduled on a busy machine) finds nothing to do, and only those that joined are
        // waited for. Waiting for every worker to notice the job cost up to a scheduler time
        // slice per job under load, hundreds of times per forward pass.
        lock.lock()
        job = nil
        lock.unlock()
        var spins = 0
        while joined.load(ordering: .acquiring) > 0 && spins < Self.spinLimit { spins += 1 }
        if joined.load(ordering: .acquiring) > 0 {
            lock.lock()
            mainWaiting = true
            while joined.load(ordering: .acquiring) > 0 { lock.wait() }
            mainWaiting = false
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

    @inline(__always) private func drain(_ work: Job, worker: Int) {
        while true {
            let c = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if c >= chunkCount { return }
            switch work {
            case .closure(let body): body(c, worker)
            case .value(let pointer, let type): type.run(at: pointer, chunk: c, worker: worker)
            }
        }
    }

    /// Runs chunks of the current job if it is still open, and says whether it joined it. A
    /// function of its own so that the worker's reference to the job's closure is released
    /// before it reports completion (`leave`).
    @inline(never) private func runCurrentJob(worker: Int) -> Bool {
        lock.lock()
        let work = job
        // Joining under the lock orders it before or after the caller's close.
        if work != nil { joined.wrappingAdd(1, ordering: .relaxed) }
        lock.unlock()
        guard let work else { return false }
        drain(work, worker: worker)
        return true
    }

    private func leave() {
        if joined.wrappingSubtract(1, ordering: .acquiringAndReleasing).oldValue == 1 {
            lock.lock()
            if mainWaiting { lock.broadcast() }
            lock.unlock()
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < Self.spinLimit { spins += 1 }
            if generation.load(ordering: .acquiring) == seen {
                lock.lock()
                while generation.load(ordering: .acquiring) == seen && !shuttingDown {
                    sleepers += 1
                    lock.wait()
                    sleepers -= 1
                }
                lock.unlock()
            }
            if shuttingDown { return }
            seen = generation.load(ordering: .acquiring)
            if runCurrentJob(worker: index) { leave() }
        }
    }
}

/// Work for `ThreadPool.run(chunks:job:)`: a value type holding what a closure would capture.
public protocol PoolJob {
    func run(chunk: Int, worker: Int)
}

extension PoolJob {
    /// Runs the job stored at `pointer` (a `Self`): how workers call a job they know only by
    /// its type.
    static func run(at pointer: UnsafeRawPointer, chunk: Int, worker: Int) {
        pointer.assumingMemoryBound(to: Self.self).pointee.run(chunk: chunk, worker: worker)
    }
}

/// What the pool is running: a closure, or a job value on the caller's stack.
private enum Job {
    case closure((Int, Int) -> Void)
    case value(UnsafeRawPointer, any PoolJob.Type)
}
