import Engine
import Foundation
import KVCache
import Models

/// Many agents on one loaded model: each agent keeps its own KV cache across requests, and the
/// requests running at a time advance together, one batched forward pass per step (decoding N
/// agents reads the weights once).
///
/// A scheduler thread owns the model. Each step it admits waiting requests into free slots
/// (an agent runs one request at a time; later ones wait their turn), gives every decoding
/// request one token and the prefilling ones a shared budget of `prefillChunk` prompt tokens,
/// runs the pass, samples each request's next token with its own sampler, and streams it.
/// Requests join and leave between steps; a cancelled one leaves at the next step.
public final class AgentRuntime: @unchecked Sendable {
    let scheduler: AgentScheduler
    public var engine: Engine { scheduler.engine }
    public var configuration: AgentRuntimeConfiguration { scheduler.configuration }

    public init(engine: Engine, configuration: AgentRuntimeConfiguration = AgentRuntimeConfiguration()) throws {
        scheduler = try AgentScheduler(engine: engine, configuration: configuration)
    }

    /// A runtime dropped without `shutdown()` still ends its thread (after flushing).
    deinit { scheduler.stop() }

    /// Starts a request: throws `AgentError` (busy, too long, empty, shutting down) before any
    /// work. The stream yields `.token` events, then `.finished` with the summary
    /// (`reusedPromptTokens`: prompt tokens found in the agent's cache). Cancelling the
    /// consuming task ends the request at the next step and frees its slot.
    public func submit(_ request: AgentRequest) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        try scheduler.submit(request)
    }

    /// Runs a request to the end and returns its summary (a convenience over `submit`).
    public func generate(_ request: AgentRequest) async throws -> GenerationSummary {
        for try await event in try submit(request) {
            if case .finished(let summary) = event { return summary }
        }
        throw CancellationError()
    }

    public func agents(tenant: String) -> [AgentInfo] { scheduler.withStore { $0.list(tenant: tenant) } }

    /// Every agent of every tenant (for the store's owner, e.g. `rdic agents list`).
    public func allAgents() -> [(tenant: String, info: AgentInfo)] { scheduler.withStore { $0.all() } }

    public func deleteAgent(tenant: String, id: String) throws {
        try scheduler.withStore { try $0.delete(tenant: tenant, id: id) }
    }

    /// Moves an idle agent to the disk tier now (a no-op without a `directory` or while it runs).
    public func offload(tenant: String, id: String) throws {
        try scheduler.withStore { try $0.offload(tenant: tenant, id: id) }
    }

    /// A pinned agent is never spilled from RAM nor deleted from disk by the budgets.
    public func pin(tenant: String, id: String, _ pinned: Bool = true) throws {
        try scheduler.withStore { try $0.setPinned(tenant: tenant, id: id, pinned) }
    }

    /// The token ids in an agent's cache (nil: no such agent).
    public func tokens(tenant: String, id: String) -> [Int32]? {
        scheduler.withStore { $0.agents[AgentStore.Key(tenant: tenant, id: id)]?.tokens }
    }

    /// Notes kept with an agent's cache and saved with it: what a client needs besides the
    /// tokens to continue (e.g. the chat messages they render). Replaces the previous notes.
    public func setNotes(tenant: String, id: String, _ notes: [String: String]) throws {
        try scheduler.withStore { try $0.setNotes(tenant: tenant, id: id, notes) }
    }

    public func notes(tenant: String, id: String) -> [String: String]? {
        scheduler.withStore { $0.agents[AgentStore.Key(tenant: tenant, id: id)]?.notes }
    }

    public var metrics: AgentRuntimeMetrics { scheduler.metrics }

    /// Files in the agents folder that looked like saved agents but could not be read at start
    /// (damaged or truncated): those agents start afresh.
    public var unreadableAgentFiles: [String] { scheduler.withStore { $0.unreadableFiles } }

    /// Saves every agent whose cache changed since its last save (needs a `directory`).
    public func flush() { scheduler.withStore { $0.flush() } }

    /// Stops accepting (`submit` throws `.shuttingDown`), lets running and queued requests
    /// finish, saves every changed agent, and ends the scheduler thread.
    public func shutdown() async { await scheduler.shutdown() }
}

/// The scheduler thread and the state it owns; `AgentRuntime` is its public face.
final class AgentScheduler: @unchecked Sendable {
    let engine: Engine
    let configuration: AgentRuntimeConfiguration
    private let store: AgentStore
    private let condition = NSCondition()
    private var waiting: [Job] = []
    private var running: [Job] = []
    private var accepting = true
    private var stopped = false
    private var thread: Thread?
    private let finished = NSCondition()
    private var loopEnded = false
    /// Hidden states and logits of a step, kept across steps (the scheduler thread's own): a
    /// step's logits are a vocabulary of floats per decoding request, too large to allocate
    /// and zero every token.
    private var hidden: [Float] = []
    private var logits: [Float] = []

    init(engine: Engine, configuration: AgentRuntimeConfiguration) throws {
        var configuration = configuration
        configuration.contextLength = min(configuration.contextLength, engine.model.hyperparameters.contextLength)
        configuration.parallel = max(1, configuration.parallel)
        configuration.prefillChunk = max(1, configuration.prefillChunk)
        try engine.model.validate(configuration.kv)
        self.engine = engine
        self.configuration = configuration
        store = try AgentStore(engine: engine, configuration: configuration)
        let thread = Thread { [self] in self.loop() }
        thread.stackSize = 8 << 20
        thread.name = "rdic-agents"
        self.thread = thread
        thread.start()
        if configuration.directory != nil {
            let writer = Thread { [self] in self.writeBehind() }
            writer.name = "rdic-agents-writer"
            writer.start()
        }
    }

    /// Ends the loop once the running and queued requests are done (the thread then lets go).
    func stop() {
        condition.withLock { accepting = false; stopped = true; condition.broadcast() }
    }

    func withStore<T>(_ body: (AgentStore) throws -> T) rethrows -> T {
        try condition.withLock { try body(store) }
    }

    // MARK: Requests

    func submit(_ request: AgentRequest) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        guard !request.prompt.isEmpty else { throw AgentError.emptyPrompt }
        guard request.prompt.count < configuration.contextLength else {
            throw AgentError.promptTooLong(tokens: request.prompt.count, context: configuration.contextLength)
        }
        if let id = request.agent, id.utf8.count > 256 || id.isEmpty || id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw AgentError.invalidAgentID(id)
        }
        let vocab = engine.model.hyperparameters.vocabularySize
        if let bad = request.prompt.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabulary: vocab)
        }
        var job: Job?
        let stream = AsyncThrowingStream<GenerationEvent, Error> { continuation in
            job = Job(request: request, engine: engine, continuation: continuation)
        }
        let j = job!
        try condition.withLock { () throws -> Void in
            guard accepting else { throw AgentError.shuttingDown }
            let queued = waiting.count
            guard queued < configuration.queueLimit else {
                throw AgentError.busy(queued: queued, limit: configuration.queueLimit)
            }
            waiting.append(j)
            condition.broadcast()
        }
        j.continuation.onTermination = { [weak self, weak j] termination in
            guard case .cancelled = termination, let j else { return }
            j.cancel()
            self?.condition.withLock { self?.condition.broadcast() }
        }
        // What the caller reads: each token taken is counted, and wakes a request held back
        // for a slow reader.
        let reader = StreamReader(stream.makeAsyncIterator())
        return AsyncThrowingStream { [weak self, weak j] in
            let event = try await reader.next()
            if case .token? = event, let j {
                j.tookToken()
                self?.condition.withLock { self?.condition.broadcast() }
            }
            return event
        }
    }

    /// Unread tokens past which a request sits out steps until its reader catches up: a
    /// client that stops reading holds back only its own request, and a dropped one stops
    /// within this many tokens of what it read.
    static let readAhead = 32

    var metrics: AgentRuntimeMetrics {
        condition.withLock {
            var m = AgentRuntimeMetrics()
            m.queued = waiting.count
            m.running = running.count
            m.ramBytes = store.ramBytes
            m.diskBytes = store.diskBytes
            m.evictions = store.evictions
            m.restores = store.restores
            m.agentsInRAM = store.agents.values.filter { $0.cache != nil }.count
            m.agentsOnDisk = store.agents.values.filter { $0.fileBytes > 0 }.count
            return m
        }
    }

    func shutdown() async {
        condition.withLock {
            accepting = false
            condition.broadcast()
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                finished.withLock { while !loopEnded { finished.wait() } }
                c.resume()
            }
        }
    }

    // MARK: The scheduler

    private func loop() {
        while true {
            let step: [Job] = condition.withLock {
                while true {
                    dropCancelled()
                    admit()
                    if !running.isEmpty {
                        // Shutting down, every request runs to its end, read or not.
                        let ready = accepting && !stopped ? running.filter { !$0.isAhead(by: Self.readAhead) } : running
                        if !ready.isEmpty { return ready }
                    } else if !accepting || stopped {
                        store.flush()
                        return []
                    }
                    condition.wait()
                }
            }
            if step.isEmpty { break }
            self.step(step)
            condition.withLock {
                for j in step where j.state.isFinished || j.isCancelled { release(j) }
                if running.isEmpty { condition.broadcast() }  // idle: the writer may save
            }
        }
        condition.withLock { loopEnded = true; condition.broadcast() }
        finished.withLock { finished.broadcast() }
    }

    /// Saves changed agents while the scheduler is idle, from copy-on-write snapshots and
    /// outside the lock: a request that arrives during a save is not kept waiting for it.
    private func writeBehind() {
        while true {
            let snapshot: AgentStore.Snapshot? = condition.withLock {
                while true {
                    if loopEnded || stopped { return nil }
                    if running.isEmpty && waiting.isEmpty {
                        if let s = store.takeSnapshot(idleFor: configuration.writeDelay) { return s }
                        if store.hasDirtyAgents {
                            _ = condition.wait(until: Date().addingTimeInterval(max(0.05, configuration.writeDelay / 4)))
                            continue
                        }
                    }
                    condition.wait()
                }
            }
            guard let snapshot else { return }
            let bytes = try? store.write(snapshot)
            condition.withLock { store.finish(snapshot, bytes: bytes) }
        }
    }

    /// Moves waiting requests into free slots, oldest first, skipping agents already running.
    private func admit() {
        var i = 0
        while running.count < configuration.parallel && i < waiting.count {
            let j = waiting[i]
            if let id = j.request.agent,
               running.contains(where: { $0.request.agent == id && $0.request.tenant == j.request.tenant }) {
                i += 1
                continue
            }
            waiting.remove(at: i)
            do {
                let entry = try store.checkout(tenant: j.request.tenant, id: j.request.agent, prompt: j.prompt)
                j.attach(entry)
                running.append(j)
            } catch {
                j.continuation.finish(throwing: error)
            }
        }
    }

    private func dropCancelled() {
        waiting.removeAll { j in
            if j.isCancelled { j.continuation.finish(); return true }
            return false
        }
        for j in running where j.isCancelled { release(j) }
    }

    private func release(_ j: Job) {
        guard let index = running.firstIndex(where: { $0 === j }) else { return }
        running.remove(at: index)
        if let entry = j.entry { store.checkin(entry) }
        if j.isCancelled {
            j.continuation.finish()
        } else {
            if let tail = j.state.finish() { j.continuation.yield(.token(tail)) }
            j.state.setDecodeSeconds(Date().timeIntervalSince(j.promptDone ?? Date()))
            j.continuation.yield(.finished(j.state.summary))
            j.continuation.finish()
        }
    }

    /// One batched pass over the running requests (grouped by numerics, which choose kernels).
    private func step(_ jobs: [Job]) {
        var prefillBudget = configuration.prefillChunk
        var parts: [(job: Job, tokens: [Int32], wantsLogits: Bool)] = []
        for j in jobs {
            guard let cache = j.entry?.cache, !j.state.isFinished else { continue }
            if j.isPrefilling {
                // A prompt always advances by whole chunks (the last one shorter), whoever else
                // runs: its floats never depend on the company it keeps. The first prefilling
                // request always goes; others while the step's budget lasts.
                let n = min(configuration.prefillChunk, j.prompt.count - j.cursor)
                guard n <= prefillBudget else { continue }
                prefillBudget -= n
                let end = j.cursor + n
                parts.append((j, Array(j.prompt[j.cursor..<end]), end == j.prompt.count))
            } else if let next = j.state.nextToken {
                guard cache.count < cache.configuration.contextLength else { j.state.stop(.contextFull); continue }
                parts.append((j, [next], true))
            }
        }
        for numerics in Numerics.allCases {
            let group = parts.filter { $0.job.request.numerics == numerics }
            if !group.isEmpty { run(group, numerics: numerics) }
        }
    }

    private func run(_ group: [(job: Job, tokens: [Int32], wantsLogits: Bool)], numerics: Numerics) {
        let model = engine.model
        let d = model.hyperparameters.embeddingLength, vocab = model.hyperparameters.vocabularySize
        let batch = group.map { p in
            SequenceBatch(tokens: p.tokens, cache: p.job.entry!.cache!,
                          outputRows: p.wantsLogits ? (p.tokens.count - 1)..<p.tokens.count : 0..<0)
        }
        let rows = group.filter(\.wantsLogits).count
        if hidden.count < max(1, rows) * d { hidden = [Float](repeating: 0, count: max(1, rows) * d) }
        if logits.count < rows * vocab { logits = [Float](repeating: 0, count: rows * vocab) }
        do {
            try hidden.withUnsafeMutableBufferPointer { try model.forward(batch, numerics: numerics, into: $0.baseAddress!) }
        } catch {
            for p in group { fail(p.job, error) }
            return
        }
        for p in group {
            let j = p.job
            j.entry!.tokens += p.tokens
            if j.isPrefilling { j.cursor += p.tokens.count }
        }
        guard rows > 0 else { return }
        hidden.withUnsafeBufferPointer { h in
            logits.withUnsafeMutableBufferPointer {
                model.logits(hidden: h.baseAddress!, rows: rows, numerics: numerics, independentRows: true,
                             into: $0.baseAddress!)
            }
        }
        var row = 0
        for p in group where p.wantsLogits {
            let j = p.job
            if j.promptDone == nil {
                j.promptDone = Date()
                j.state.setPrompt(tokens: j.prompt.count, reused: j.reused,
                                  seconds: j.promptDone!.timeIntervalSince(j.submitted))
            }
            do {
                let token = try logits.withUnsafeMutableBufferPointer {
                    try j.state.accept(logits: UnsafeMutableBufferPointer(rebasing: $0[(row * vocab)..<((row + 1) * vocab)]))
                }
                if let token, !j.isCancelled { j.yield(token) }
            } catch {
                fail(j, error)
            }
            row += 1
        }
    }

    /// Ends a request with an error; its entry keeps the tokens its cache really holds.
    private func fail(_ j: Job, _ error: Error) {
        j.state.stop(.maxTokens)
        condition.withLock {
            if let index = running.firstIndex(where: { $0 === j }) { running.remove(at: index) }
            if let entry = j.entry { store.checkin(entry) }
        }
        j.continuation.finish(throwing: error)
    }
}

/// The iterator of a request's stream, advanced by the one reader of the stream it feeds.
private final class StreamReader: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<GenerationEvent, Error>.AsyncIterator

    init(_ iterator: AsyncThrowingStream<GenerationEvent, Error>.AsyncIterator) { self.iterator = iterator }

    func next() async throws -> GenerationEvent? { try await iterator.next() }
}
