import Foundation
import Testing

/// Runs CPU-heavy tests (forward passes, perplexity, subprocesses waited on synchronously) on
/// threads of their own instead of Swift's cooperative pool.
///
/// The pool has one thread per core. A test that computes for a minute on a pool thread holds
/// it for that minute, and on a two-core machine two such tests stop every other test's
/// continuations from resuming: network tests then hit their own timeouts while their server
/// answered long ago. Heavy suites take the `.computeBound` trait; their bodies run here, at
/// most `threadCount` at a time, and the cooperative pool stays free for everything else.
public final class ComputeExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = ComputeExecutor(threadCount: max(2, ProcessInfo.processInfo.activeProcessorCount))

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threadCount: Int) {
        for index in 0..<threadCount {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "rdic-test-compute-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    /// Whether the caller runs on one of the compute threads.
    public static var isCurrentThreadAComputeThread: Bool {
        Thread.current.threadDictionary[markerKey] as? Bool == true
    }
    private static let markerKey = "rdic.test.compute-thread"

    private func work() {
        Thread.current.threadDictionary[Self.markerKey] = true
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// Moves every test of a suite (or one test) onto `ComputeExecutor.shared`.
public struct ComputeBound: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(ComputeExecutor.shared) { try await function() }
    }
}

extension Trait where Self == ComputeBound {
    /// The test computes for long stretches without awaiting: keep it off the cooperative pool.
    public static var computeBound: ComputeBound { ComputeBound() }
}
