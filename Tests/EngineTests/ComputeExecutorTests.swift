import Foundation
import TestSupport
import Testing

func onComputeThread() -> Bool { ComputeExecutor.isCurrentThreadAComputeThread }

/// The heavy suites rely on `.computeBound` to keep the cooperative pool free; check it moves
/// the body, including the code after an await, onto the compute threads.
@Suite(.computeBound) struct ComputeExecutorTests {
    @Test func bodyRunsOnTheComputeThreads() async throws {
        #expect(onComputeThread())
        try await Task.sleep(for: .milliseconds(1))
        #expect(onComputeThread())
    }

    @Test func synchronousBodiesToo() {
        #expect(onComputeThread())
    }
}

@Suite struct CooperativePoolTests {
    @Test func otherSuitesStayOnThePool() async {
        #expect(!onComputeThread())
    }
}
