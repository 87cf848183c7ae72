import Foundation
import Providers
import TestSupport
import Testing
@testable import Datasets

/// `DatasetGenerator` through the real Anthropic provider against a loopback fake model that
/// speaks the Messages API wire protocol.
@Suite struct GeneratorTests {
    static let fixedNow: @Sendable () -> Date = { Date(timeIntervalSince1970: 1_800_000_000) }

    /// A provider for `fake` resolved by alias, as the CLI does.
    static func provider(_ fake: FakeConflictModel) throws -> (ProviderFactory, any ChatProvider) {
        let config = try ProviderConfig.parse(toml: "[retry]\nmax_retries = 0\n", environment: [
            "ANTHROPIC_API_KEY": "sk-ant-test-0123456789", "ANTHROPIC_BASE_URL": fake.baseURL,
        ])
        let factory = ProviderFactory(config: config)
        return (factory, try factory.provider(named: "claude-sonnet-4.5"))
    }

    static func generate(_ fake: FakeConflictModel, _ options: GeneratorOptions) async throws -> GeneratorSummary {
        let (factory, provider) = try provider(fake)
        do {
            let summary = try await DatasetGenerator(provider: provider, options: options, now: fixedNow).run()
            await factory.shutdown()
            return summary
        } catch {
            await factory.shutdown()
            throw error
        }
    }

    static func options(_ dir: URL, count: Int = 10, seed: UInt64 = 42, resume: Bool = false, attempts: Int = 2,
                        name: String = "batch.json") -> GeneratorOptions {
        GeneratorOptions(count: count, seed: seed, modelName: "claude-sonnet-4.5", output: dir.appendingPathComponent(name),
                          resume: resume, attempts: attempts)
    }

    @Test func planIsBalancedAndFixedBySeed() {
        let plan = GenerationPlan.make(count: 30, seed: 42)
        #expect(plan == GenerationPlan.make(count: 30, seed: 42))
        #expect(plan != GenerationPlan.make(count: 30, seed: 43))
        #expect(plan.map(\.id) == (1...30).map { String(format: "conflict_%03d", $0) })
        for kind in ConflictKind.allCases { #expect(plan.filter { $0.category.kind == kind }.count == 6) }
        let odd = GenerationPlan.make(count: 33, seed: 1)
        #expect(Set(ConflictKind.allCases.map { kind in odd.filter { $0.category.kind == kind }.count }) == [6, 7])
        #expect(plan.allSatisfy { $0.category.kind.subtypes.contains($0.category.subtype) })
        // Subtypes and domains are drawn, not fixed: a 30-record plan uses many of each.
        #expect(Set(plan.map(\.category.subtype)).count >= 10)
        #expect(Set(plan.map(\.domain)).count >= 7)
    }

    @Test func generatesABalancedValidatedFile() async throws {
        let fake = try FakeConflictModel()
        defer { fake.stop() }
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let options = Self.options(dir)
        let summary = try await Self.generate(fake, options)
        #expect(summary == GeneratorSummary(planned: 10, kept: 10, resumed: 0, failures: 0, givenUp: []))
        let records = try DatasetFile.read(options.output)
        let plan = GenerationPlan.make(count: 10, seed: 42)
        #expect(records.map(\.id) == plan.map(\.id))
        #expect(records.map(\.conflictType) == plan.map(\.category.conflictType))
        #expect(records.map(\.domain) == plan.map(\.domain.rawValue))
        for kind in ConflictKind.allCases { #expect(records.filter { $0.category?.kind == kind }.count == 2) }
        #expect(try DatasetValidator.validate(file: options.output).isValid)
        #expect(records.allSatisfy { $0.metadata.model == "claude-sonnet-4-5" && !$0.metadata.reviewed && $0.metadata.qualityScore == nil })
        // The wire requests: the alias's model id, temperature 0.8, the plan in the prompt.
        let bodies = fake.requestBodies
        #expect(bodies.count == 10)
        #expect(bodies.allSatisfy { $0["model"] as? String == "claude-sonnet-4-5" && $0["temperature"] as? Double == 0.8 })
        let prompt = ((bodies[3]["messages"] as? [[String: Any]])?.first?["content"] as? String) ?? ""
        #expect(prompt.contains("conflict_type: \(plan[3].category.conflictType)"))
        #expect(!FileManager.default.fileExists(atPath: options.failureLog.path))
    }

    @Test func malformedAnswersAreSkippedCountedAndLogged() async throws {
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Request 2 is malformed; its item is retried and kept on the second attempt.
        let retried = try FakeConflictModel(malformed: [2])
        let summary = try await Self.generate(retried, Self.options(dir))
        retried.stop()
        #expect(summary.failures == 1)
        #expect(summary.kept == 10)
        let log = try String(contentsOf: Self.options(dir).failureLog, encoding: .utf8).split(separator: "\n")
        #expect(log.count == 1)
        #expect(log[0].contains("\"id\":\"conflict_003\"") && log[0].contains("not a JSON object"))

        // With one attempt per item, malformed items are given up and the rest kept.
        let skipping = try FakeConflictModel(malformed: [2, 5])
        let options = Self.options(dir, attempts: 1, name: "skipping.json")
        let skipped = try await Self.generate(skipping, options)
        skipping.stop()
        #expect(skipped.failures == 2)
        #expect(skipped.givenUp.map(\.id) == ["conflict_003", "conflict_006"])
        #expect(try DatasetFile.read(options.output).count == 8)
    }

    @Test func resumeAfterAStoppedRunEqualsAnUninterruptedRun() async throws {
        let dir = try DatasetFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let straight = try FakeConflictModel()
        let reference = Self.options(dir, name: "straight.json")
        _ = try await Self.generate(straight, reference)
        straight.stop()

        // A run stopped after 4 records (the provider throws, ending the run as a kill would).
        let options = Self.options(dir)
        let stopped = try FakeConflictModel()
        let (factory, provider) = try Self.provider(stopped)
        let limited = StoppingProvider(base: provider, limit: 4)
        await #expect(throws: StoppingProvider.Stopped.self) {
            _ = try await DatasetGenerator(provider: limited, options: options, now: Self.fixedNow).run()
        }
        await factory.shutdown()
        stopped.stop()
        #expect(try DatasetFile.read(options.output).map(\.id) == (1...4).map { String(format: "conflict_%03d", $0) })

        // Without --resume the partial file is not overwritten.
        let fresh = try FakeConflictModel()
        await #expect(throws: GeneratorError.outputExists(options.output.path)) { _ = try await Self.generate(fresh, options) }
        // With different plan parameters, resuming is refused.
        await #expect(throws: GeneratorError.self) { _ = try await Self.generate(fresh, Self.options(dir, seed: 7, resume: true)) }
        var resume = options
        resume.resume = true
        let summary = try await Self.generate(fresh, resume)
        fresh.stop()
        #expect(summary.resumed == 4)
        #expect(fresh.requestBodies.count == 6)
        #expect(try Data(contentsOf: options.output) == Data(contentsOf: reference.output))
    }
}

/// Passes the first `limit` calls through, then stops the run (as a killed process would stop).
struct StoppingProvider: ChatProvider {
    struct Stopped: Error {}
    let base: any ChatProvider
    let limit: Int
    let calls = Counter()

    var backend: BackendKind { base.backend }

    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        guard calls.next() < limit else { throw Stopped() }
        return try await base.complete(request)
    }

    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, Error> { base.stream(request) }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func next() -> Int { lock.withLock { defer { count += 1 }; return count } }
    }
}
