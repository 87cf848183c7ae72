import Agents
import Engine
import Foundation
import TestSupport
import Testing
import Tokenizers

/// Requests joining and leaving: cancellation, the bounded queue, errors before any work.
@Suite(.serialized) struct SchedulerTests {
    /// A consumer that stops reading ends its request within a step: the slot is free for the
    /// next request, and the agent's cache holds exactly the tokens it reports.
    @Test func cancelledRequestFreesItsSlot() async throws {
        let engine = try Engines.get(.smollm2)
        var config = AgentRuntimeConfiguration()
        config.parallel = 1
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        let p = prompt(engine, "Count from one to one thousand, in words.")
        let task = Task {
            var n = 0
            for try await event in try runtime.submit(AgentRequest(tenant: "t", agent: "long", prompt: p, options: greedy(5000))) {
                if case .token = event { n += 1 }
                if n == 5 { break }
            }
            return n
        }
        #expect(try await task.value == 5)
        // The single slot is free again: a second agent's request runs to the end.
        let other = try await runtime.generate(AgentRequest(tenant: "t", agent: "next", prompt: p, options: greedy(3)))
        #expect(other.outputIds.count == 3)
        let m = runtime.metrics
        #expect(m.running == 0 && m.queued == 0)
        let cached = try #require(runtime.tokens(tenant: "t", id: "long"))
        #expect(cached.count >= p.count && cached.count < p.count + 50, "stopped within a few steps: \(cached.count - p.count) tokens past the prompt")
        #expect(Array(cached.prefix(p.count)) == p)
        // The cancelled agent continues from its cache.
        let again = try await runtime.generate(AgentRequest(tenant: "t", agent: "long", prompt: cached + [cached.last!], options: greedy(2)))
        #expect(again.reusedPromptTokens == cached.count)
        await runtime.shutdown()
    }

    @Test func fullQueueSaysBusy() async throws {
        let engine = try Engines.get(.smollm2)
        var config = AgentRuntimeConfiguration()
        config.parallel = 1
        config.queueLimit = 2
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        let p = prompt(engine, "Tell me a long story about a lighthouse.")
        var streams: [AsyncThrowingStream<GenerationEvent, Error>] = []
        // One running plus two waiting fill it (the first may still be waiting when the third arrives).
        var busy: AgentError?
        for i in 0..<6 {
            do { streams.append(try runtime.submit(AgentRequest(tenant: "t", agent: "a\(i)", prompt: p, options: greedy(200)))) }
            catch let e as AgentError { busy = e; break }
        }
        guard case .busy(let queued, let limit) = busy else { Issue.record("expected busy, got \(String(describing: busy))"); return }
        #expect(queued == 2 && limit == 2)
        #expect(streams.count >= 2 && streams.count <= 3)
        streams.removeAll()  // dropped streams cancel their requests
        try await Task.sleep(nanoseconds: 300_000_000)
        let s = try await runtime.generate(AgentRequest(tenant: "t", agent: "after", prompt: p, options: greedy(2)))
        #expect(s.outputIds.count == 2)
        await runtime.shutdown()
    }

    @Test func badRequestsFailBeforeAnyWork() async throws {
        let engine = try Engines.get(.smollm2)
        var config = AgentRuntimeConfiguration()
        config.contextLength = 64
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        #expect(throws: AgentError.emptyPrompt) { try runtime.submit(AgentRequest(tenant: "t", agent: nil, prompt: [], options: greedy(1))) }
        #expect(throws: AgentError.promptTooLong(tokens: 100, context: 64)) {
            try runtime.submit(AgentRequest(tenant: "t", agent: nil, prompt: [Int32](repeating: 1, count: 100), options: greedy(1)))
        }
        #expect(throws: AgentError.invalidAgentID("a\u{0}b")) {
            try runtime.submit(AgentRequest(tenant: "t", agent: "a\u{0}b", prompt: [1, 2], options: greedy(1)))
        }
        #expect(throws: AgentError.notFound(agent: "ghost")) { try runtime.deleteAgent(tenant: "t", id: "ghost") }
        // A generation that reaches the context's end stops there, with the reason.
        let s = try await runtime.generate(AgentRequest(tenant: "t", agent: "full", prompt: [Int32](repeating: 1, count: 60), options: greedy(50)))
        #expect(s.finishReason == .contextFull && s.outputIds.count <= 5)
        await runtime.shutdown()
        #expect(throws: AgentError.shuttingDown) { try runtime.submit(AgentRequest(tenant: "t", agent: nil, prompt: [1], options: greedy(1))) }
    }
}
