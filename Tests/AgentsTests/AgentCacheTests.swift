import Agents
import Engine
import Foundation
import KVCache
import TestSupport
import Testing
import Tokenizers

/// The agent cache manager: prefix reuse, tenants, budgets, tiers, persistence.
@Suite(.serialized) struct AgentCacheTests {
    /// A conversation of `turns` user messages; each turn's prompt is the whole history so far.
    struct Conversation {
        var messages: [ChatMessage] = []
    }

    /// Runs turn after turn of one agent and returns each turn's output ids.
    static func converse(_ runtime: AgentRuntime, tenant: String, agent: String?, turns: [String],
                         maxTokens: Int = 12) async throws -> (outputs: [[Int32]], reused: [Int]) {
        let engine = runtime.engine
        var messages: [ChatMessage] = []
        var outputs: [[Int32]] = [], reused: [Int] = []
        for t in turns {
            messages.append(.user(t))
            let s = try await runtime.generate(AgentRequest(tenant: tenant, agent: agent,
                                                            prompt: engine.encode(chat: messages), options: greedy(maxTokens)))
            outputs.append(s.outputIds)
            reused.append(s.reusedPromptTokens)
            messages.append(.assistant(s.text))
        }
        return (outputs, reused)
    }

    /// The same conversation by one agent alone on a runtime of its own with the same
    /// configuration (no other agent, no budget, no disk).
    static func converseAlone(_ engine: Engine, turns: [String], maxTokens: Int = 12,
                              configuration: AgentRuntimeConfiguration = AgentRuntimeConfiguration()) async throws -> [[Int32]] {
        var config = configuration
        config.directory = nil
        config.ramBudget = nil
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        let r = try await converse(runtime, tenant: "alone", agent: "alone", turns: turns, maxTokens: maxTokens)
        await runtime.shutdown()
        return r.outputs
    }

    @Test func laterTurnsReuseTheAgentsCache() async throws {
        let engine = try Engines.get(.smollm2)
        let runtime = try AgentRuntime(engine: engine)
        let r = try await Self.converse(runtime, tenant: "t", agent: "a", turns: ["Hi! Who are you?", "Tell me a joke.", "Another one."])
        #expect(r.reused[0] == 0)
        #expect(r.reused[1] > 20 && r.reused[2] > r.reused[1], "reused \(r.reused)")
        let alone = try await Self.converseAlone(engine, turns: ["Hi! Who are you?", "Tell me a joke.", "Another one."])
        #expect(r.outputs == alone)
        let info = runtime.agents(tenant: "t")
        #expect(info.map(\.id) == ["a"] && info[0].tier == .ram && info[0].tokens > 0)
        await runtime.shutdown()
    }

    /// Eight agents, requests in random interleavings, several at once: each agent's outputs
    /// are exactly those of its conversation run alone. No agent ever sees another's tokens.
    @Test(arguments: [UInt64(7), 1234])
    func randomInterleavingsMatchRunsAlone(seed: UInt64) async throws {
        let engine = try Engines.get(.smollm2)
        var rng = SplitMix64(seed: seed)
        let topics = ["cats", "the moon", "bread", "rivers", "chess", "rain", "music", "trains"]
        let conversations = topics.map { topic in
            ["Say one fact about \(topic).", "Now one more about \(topic).", "Summarize \(topic) in five words."]
        }
        var config = AgentRuntimeConfiguration()
        config.parallel = Int.random(in: 2...4, using: &rng)
        config.prefillChunk = [16, 64, 256].randomElement(using: &rng)!
        var expected: [[[Int32]]] = []
        for c in conversations { expected.append(try await Self.converseAlone(engine, turns: c, maxTokens: 8, configuration: config)) }
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        // Each agent runs its turns in order; the agents start in a random order at random moments.
        let order = Array(0..<8).shuffled(using: &rng)
        let delays = (0..<8).map { _ in UInt64.random(in: 0...200, using: &rng) }
        let results = try await withThrowingTaskGroup(of: (Int, [[Int32]]).self) { group in
            for i in order {
                group.addTask {
                    try await Task.sleep(nanoseconds: delays[i] * 1_000_000)
                    let r = try await Self.converse(runtime, tenant: "t", agent: "agent-\(i)", turns: conversations[i], maxTokens: 8)
                    return (i, r.outputs)
                }
            }
            var out = [[[Int32]]](repeating: [], count: 8)
            for try await (i, o) in group { out[i] = o }
            return out
        }
        for i in 0..<8 { #expect(results[i] == expected[i], "agent \(i) (seed \(seed))") }
        await runtime.shutdown()
    }

    @Test func tenantsNeverShareCaches() async throws {
        let engine = try Engines.get(.smollm2)
        let runtime = try AgentRuntime(engine: engine)
        let system = String(repeating: "You are a careful assistant who answers in plain words. ", count: 12)
        let p = engine.encode(chat: [.system(system), .user("Hello there.")])
        let first = try await runtime.generate(AgentRequest(tenant: "alice", agent: "x", prompt: p, options: greedy(4)))
        let sameTenant = try await runtime.generate(AgentRequest(tenant: "alice", agent: "y", prompt: p, options: greedy(4)))
        let anonymous = try await runtime.generate(AgentRequest(tenant: "alice", agent: nil, prompt: p, options: greedy(4)))
        let otherTenant = try await runtime.generate(AgentRequest(tenant: "bob", agent: "x", prompt: p, options: greedy(4)))
        #expect(first.reusedPromptTokens == 0)
        #expect(sameTenant.reusedPromptTokens == p.count - 1)
        #expect(anonymous.reusedPromptTokens == p.count - 1)
        #expect(otherTenant.reusedPromptTokens == 0)
        #expect(runtime.agents(tenant: "bob").map(\.id) == ["x"])
        #expect(runtime.agents(tenant: "alice").map(\.id) == ["x", "y"])
        #expect(first.outputIds == otherTenant.outputIds && first.outputIds == sameTenant.outputIds)
        await runtime.shutdown()
    }

    /// Ten agents whose prompts start with the same ~2,000-token system prompt hold it once.
    @Test func sharedSystemPromptIsStoredOnce() async throws {
        let engine = try Engines.get(.smollm2)
        let runtime = try AgentRuntime(engine: engine)
        let text = try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8)
        var system = String(text.prefix(9000))
        while engine.encode(chat: [.system(system)]).count > 2000 { system.removeLast(200) }
        let systemTokens = engine.encode(chat: [.system(system)]).count
        #expect(systemTokens > 1800)
        for i in 0..<10 {
            let p = engine.encode(chat: [.system(system), .user("Agent \(i): say hello.")])
            let s = try await runtime.generate(AgentRequest(tenant: "t", agent: "a\(i)", prompt: p, options: greedy(2)))
            if i > 0 { #expect(s.reusedPromptTokens >= systemTokens - 1) }
        }
        let model = engine.model
        let perToken = model.cacheConfiguration(contextLength: 4096).blockBytes(layer: 0) / 64 * model.hyperparameters.layerCount
        let ram = runtime.metrics.ramBytes
        // One copy of the system prompt plus, per agent, its own tail blocks (one partial block
        // copied on write and the blocks of its own ~20 tokens).
        let onePrompt = systemTokens * perToken
        #expect(ram < onePrompt + 10 * 2 * 64 * perToken, "RAM \(ram) bytes, one prompt \(onePrompt)")
        #expect(ram < 3 * onePrompt)
        let unshared = runtime.agents(tenant: "t").reduce(0) { $0 + $1.bytes }
        #expect(unshared > 9 * onePrompt, "each agent's own view holds the whole prompt")
        await runtime.shutdown()
    }

    /// With a RAM budget that holds about three agents, ten agents taking turns stay within it,
    /// spill to disk and come back from it, and every conversation continues correctly.
    @Test func budgetSpillsToDiskAndRestores() async throws {
        let engine = try Engines.get(.smollm2)
        let dir = temporaryDirectory("budget")
        defer { try? FileManager.default.removeItem(at: dir) }
        let turns = (0..<10).map { i in ["Agent \(i) here. Name a colour.", "Why that colour?"] }
        // About 60 tokens per agent after its first turn: 2 blocks of 64 per layer.
        let model = engine.model
        let perAgent = 2 * model.hyperparameters.layerCount * model.cacheConfiguration(contextLength: 4096).blockBytes(layer: 0)
        var config = AgentRuntimeConfiguration()
        config.ramBudget = 3 * perAgent
        config.directory = dir
        config.parallel = 1
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        var outputs = [[[Int32]]](repeating: [], count: 10)
        var messages = [[ChatMessage]](repeating: [], count: 10)
        for turn in 0..<2 {
            for i in 0..<10 {
                messages[i].append(.user(turns[i][turn]))
                let s = try await runtime.generate(AgentRequest(tenant: "t", agent: "a\(i)", prompt: engine.encode(chat: messages[i]),
                                                                options: greedy(8)))
                outputs[i].append(s.outputIds)
                messages[i].append(.assistant(s.text))
                if turn == 1 { #expect(s.reusedPromptTokens > 10, "agent \(i) came back from disk warm") }
                #expect(runtime.metrics.ramBytes <= config.ramBudget!)
            }
        }
        let m = runtime.metrics
        #expect(m.evictions >= 7 && m.restores >= 7, "evictions \(m.evictions), restores \(m.restores)")
        #expect(runtime.agents(tenant: "t").filter { $0.tier == .disk }.count >= 7)
        for i in 0..<10 {
            let alone = try await Self.converseAlone(engine, turns: turns[i], maxTokens: 8, configuration: config)
            #expect(outputs[i] == alone, "agent \(i)")
        }
        await runtime.shutdown()
    }

    /// Shutdown flushes every agent; a new runtime over the same folder continues each one warm.
    /// A disk tier that is a file is refused with what is wrong, when the runtime is made.
    @Test func aFileIsNoDiskTier() throws {
        let engine = try Engines.get(.smollm2)
        let dir = temporaryDirectory("file-tier")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("agents")
        try Data("not a folder".utf8).write(to: file)
        var config = AgentRuntimeConfiguration()
        config.directory = file
        #expect(throws: AgentError.unusableDirectory(path: file.path, reason: "it is a file, not a folder")) {
            try AgentRuntime(engine: engine, configuration: config)
        }
    }

    @Test func agentsSurviveARestart() async throws {
        let engine = try Engines.get(.smollm2)
        let dir = temporaryDirectory("restart")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = AgentRuntimeConfiguration()
        config.directory = dir
        let turns = ["Name a fruit.", "What colour is it?"]
        var runtime = try AgentRuntime(engine: engine, configuration: config)
        var messages: [ChatMessage] = [.user(turns[0])]
        let first = try await runtime.generate(AgentRequest(tenant: "t", agent: "keeper", prompt: engine.encode(chat: messages), options: greedy(8)))
        let cached = runtime.tokens(tenant: "t", id: "keeper")!
        await runtime.shutdown()

        // A truncated copy of the saved file beside it (a disk that filled up, say) is reported,
        // not taken for an agent.
        let saved = try #require(AgentDirectory(url: dir).list().first)
        let damaged = URL(fileURLWithPath: saved.path).deletingLastPathComponent().appendingPathComponent("damaged.safetensors")
        try Data(try Data(contentsOf: URL(fileURLWithPath: saved.path)).prefix(saved.fileBytes / 2)).write(to: damaged)
        runtime = try AgentRuntime(engine: engine, configuration: config)
        #expect(runtime.unreadableAgentFiles == [damaged.path])
        let listed = runtime.agents(tenant: "t")
        #expect(listed.map(\.id) == ["keeper"] && listed[0].tier == .disk && listed[0].tokens == cached.count)
        #expect(runtime.agents(tenant: "other").isEmpty)
        messages.append(.assistant(first.text))
        messages.append(.user(turns[1]))
        let second = try await runtime.generate(AgentRequest(tenant: "t", agent: "keeper", prompt: engine.encode(chat: messages), options: greedy(8)))
        #expect(second.reusedPromptTokens == cached.count)
        #expect(runtime.metrics.restores == 1)
        let alone = try await Self.converseAlone(engine, turns: turns, maxTokens: 8)
        #expect([first.outputIds, second.outputIds] == alone)
        try runtime.deleteAgent(tenant: "t", id: "keeper")
        #expect(runtime.agents(tenant: "t").isEmpty)
        await runtime.shutdown()
        #expect(try AgentRuntime(engine: engine, configuration: config).agents(tenant: "t").isEmpty)
    }

    /// Pinned agents stay in RAM past the budget; the disk budget deletes the least recently
    /// used unpinned files, and an agent whose file went is gone once it is out of RAM too.
    @Test func pinsAndTheDiskBudget() async throws {
        let engine = try Engines.get(.smollm2)
        let dir = temporaryDirectory("disk")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = engine.model
        let perAgent = model.hyperparameters.layerCount * model.cacheConfiguration(contextLength: 4096).blockBytes(layer: 0)
        var config = AgentRuntimeConfiguration()
        config.ramBudget = perAgent   // one agent of one block
        config.directory = dir
        config.parallel = 1
        let runtime = try AgentRuntime(engine: engine, configuration: config)
        let p = { (i: Int) in prompt(engine, "Agent \(i).") }
        _ = try await runtime.generate(AgentRequest(tenant: "t", agent: "pinned", prompt: p(0), options: greedy(2)))
        try runtime.pin(tenant: "t", id: "pinned")
        for i in 1...4 { _ = try await runtime.generate(AgentRequest(tenant: "t", agent: "a\(i)", prompt: p(i), options: greedy(2))) }
        let tiers = Dictionary(uniqueKeysWithValues: runtime.agents(tenant: "t").map { ($0.id, $0.tier) })
        #expect(tiers["pinned"] == .ram, "a pinned agent is never spilled")
        #expect(tiers.values.filter { $0 == .disk }.count >= 3)
        let fileBytes = runtime.agents(tenant: "t").filter { $0.tier == .disk }.map(\.bytes).max()!
        await runtime.shutdown()

        // Room on disk for about two files: the oldest unpinned agents lose theirs.
        config.diskBudget = 2 * fileBytes + fileBytes / 2
        config.ramBudget = nil
        let second = try AgentRuntime(engine: engine, configuration: config)
        _ = try await second.generate(AgentRequest(tenant: "t", agent: "a5", prompt: p(5), options: greedy(2)))
        try second.offload(tenant: "t", id: "a5")
        let left = Set(second.agents(tenant: "t").map(\.id))
        #expect(left.contains("pinned") && left.contains("a5"))
        #expect(!left.contains("a1") && !left.contains("a2"), "the least recently used files went first: \(left)")
        #expect(second.metrics.diskBytes <= config.diskBudget!)
        await second.shutdown()
    }

    /// Gemma's sliding layers cannot be cut back past their window, so a grown agent cannot
    /// lend its prefix; the branch point kept when one agent forked another still can.
    @Test func sharedPrefixesSurviveSlidingWindows() async throws {
        let engine = try Engines.get(.gemma3)
        let window = try #require(engine.model.hyperparameters.slidingWindow)
        let text = try String(contentsOf: Fixtures.url("texts/GPL-3.txt"), encoding: .utf8)
        let words = { (s: String) in engine.tokenizer.encode(s, addBOS: false, parseSpecial: false) }
        let prefix = engine.encode(String(text.prefix(2800)))
        let growth = Array(words(String(text.dropFirst(3000).prefix(4000))).prefix(window + 200))
        #expect(prefix.count > window)
        let runtime = try AgentRuntime(engine: engine)
        func ask(_ agent: String, _ prompt: [Int32]) async throws -> GenerationSummary {
            try await runtime.generate(AgentRequest(tenant: "t", agent: agent, prompt: prompt, options: greedy(3)))
        }
        func grow(_ agent: String) async throws {
            let cached = try #require(runtime.tokens(tenant: "t", id: agent))
            _ = try await ask(agent, cached + growth)
        }
        let ending = { (i: Int) in words("\n\nQuestion \(i): what does this license allow?") }
        _ = try await ask("a0", prefix + ending(0))
        try await grow("a0")
        // a0 has moved past the window: a1 shares nothing.
        #expect(try await ask("a1", prefix + ending(1)).reusedPromptTokens == 0)
        // a1 has not: a2 forks it at the shared prefix, which is kept as a branch point.
        #expect(try await ask("a2", prefix + ending(2)).reusedPromptTokens >= prefix.count)
        try await grow("a1")
        try await grow("a2")
        let a3 = try await ask("a3", prefix + ending(3))
        #expect(a3.reusedPromptTokens >= prefix.count, "the branch point outlives its donors")
        let alone = try AgentRuntime(engine: engine)
        let reference = try await alone.generate(AgentRequest(tenant: "x", agent: "a3", prompt: prefix + ending(3), options: greedy(3)))
        #expect(a3.outputIds == reference.outputIds)
        await alone.shutdown()
        await runtime.shutdown()
    }
}
