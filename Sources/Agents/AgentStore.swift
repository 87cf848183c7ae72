import Engine
import Foundation
import KVCache

/// One agent's cache and the tokens in it, in RAM or (with `cache` nil) only on disk.
/// Anonymous entries (`id` nil) are cached prefixes of requests that named no agent.
final class AgentEntry: @unchecked Sendable {
    let tenant: String
    let id: String?
    var cache: SequenceKVCache?
    var tokens: [Int32]
    /// The RAM state is newer than the file (or there is no file yet).
    var dirty = false
    var lastUsed: Date
    var pinned = false
    /// A request is running on it.
    var busy = false
    /// Counts changes, so a background save marks the entry clean only if nothing changed
    /// since its snapshot was taken.
    var version = 0
    /// A background save of it is under way.
    var saving = false
    /// Bytes of its file on disk (0: none).
    var fileBytes = 0
    /// The caller's notes saved with the cache (e.g. the chat messages behind its tokens).
    var notes: [String: String] = [:]

    init(tenant: String, id: String?, cache: SequenceKVCache?, tokens: [Int32], lastUsed: Date = Date()) {
        self.tenant = tenant
        self.id = id
        self.cache = cache
        self.tokens = tokens
        self.lastUsed = lastUsed
    }
}

/// Agents by tenant and id, in two tiers: RAM (live caches) and disk (session files).
///
/// Not thread-safe: `AgentRuntime` calls it under its lock. Caches are only mutated by the
/// scheduler thread, between forward passes, so a save always sees a whole batch.
final class AgentStore: @unchecked Sendable {
    struct Key: Hashable {
        let tenant: String
        let id: String
    }

    let engine: Engine
    let configuration: AgentRuntimeConfiguration
    var agents: [Key: AgentEntry] = [:]
    /// Per tenant, kept prefixes: those of finished anonymous requests and branch points
    /// (see `keepBranchPoint`), oldest first.
    private var anonymous: [String: [AgentEntry]] = [:]
    /// Shorter common prefixes are prefilled rather than forked (a fork shares whole blocks).
    let minimumSharedPrefix = 64
    private(set) var evictions = 0
    private(set) var restores = 0
    /// Why the last save failed (a full disk, a removed folder), for logs.
    private(set) var lastSaveError: String?
    /// Files in the folder that looked like agents but could not be read when it was indexed.
    private(set) var unreadableFiles: [String] = []

    init(engine: Engine, configuration: AgentRuntimeConfiguration) throws {
        self.engine = engine
        self.configuration = configuration
        if let dir = configuration.directory {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir.path, isDirectory: &isFolder), !isFolder.boolValue {
                throw AgentError.unusableDirectory(path: dir.path, reason: "it is a file, not a folder")
            }
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw AgentError.unusableDirectory(path: dir.path, reason: "it cannot be created (\(error.localizedDescription))")
            }
            guard FileManager.default.isWritableFile(atPath: dir.path) else {
                throw AgentError.unusableDirectory(path: dir.path, reason: "it is not writable")
            }
            AgentDirectory(url: dir).removeStaleTemporaryFiles()
            unreadableFiles = loadIndex(dir)
        }
    }

    // MARK: Checking agents out and in

    /// The entry a request runs on: the agent's (restored from disk if spilled), or a new one
    /// forked copy-on-write from the tenant's cached sequence sharing the longest prefix with
    /// `prompt`. The entry is marked busy.
    func checkout(tenant: String, id: String?, prompt: [Int32]) throws -> AgentEntry {
        if let id, let entry = agents[Key(tenant: tenant, id: id)] {
            if entry.cache == nil { try restore(entry) }
            entry.busy = true
            return entry
        }
        let entry: AgentEntry
        if let (donor, keep) = bestDonor(tenant: tenant, prompt: prompt), let donorCache = donor.cache {
            let cache = donorCache.fork()
            cache.truncate(to: keep)
            entry = AgentEntry(tenant: tenant, id: id, cache: cache, tokens: Array(donor.tokens.prefix(keep)))
            if keep < donor.tokens.count { keepBranchPoint(entry) }
        } else {
            entry = AgentEntry(tenant: tenant, id: id,
                               cache: engine.model.makeCache(contextLength: configuration.contextLength,
                                                             storage: configuration.kv),
                               tokens: [])
        }
        if let id { agents[Key(tenant: tenant, id: id)] = entry }
        entry.busy = true
        return entry
    }

    /// A request on `entry` ended: it is idle again, and over budget idle agents are spilled.
    func checkin(_ entry: AgentEntry) {
        entry.busy = false
        entry.lastUsed = Date()
        if entry.id == nil {
            var list = anonymous[entry.tenant] ?? []
            list.append(entry)
            while list.count > configuration.anonymousPrefixes { list.removeFirst() }
            anonymous[entry.tenant] = list
        } else if let id = entry.id, agents[Key(tenant: entry.tenant, id: id)] !== entry {
            return  // deleted while running
        } else {
            entry.dirty = true
            entry.version += 1
        }
        enforceRAMBudget()
    }

    /// The cached sequence of `tenant` (an agent or a kept prefix, in RAM) that shares the
    /// longest prefix with `prompt` and can be cut back to it, with that length (at most all
    /// but the prompt's last token), when it is worth forking (a whole block). A sliding-window
    /// layer cannot be cut back past its window, so a donor that has grown too far is skipped.
    private func bestDonor(tenant: String, prompt: [Int32]) -> (AgentEntry, Int)? {
        var best: (AgentEntry, Int)?
        let candidates = agents.values.filter { $0.tenant == tenant } + (anonymous[tenant] ?? [])
        for e in candidates {
            guard let cache = e.cache else { continue }
            let keep = min(commonPrefix(e.tokens, prompt), prompt.count - 1)
            guard keep >= minimumSharedPrefix, keep > (best?.1 ?? 0), cache.canTruncate(to: keep) else { continue }
            best = (e, keep)
        }
        return best
    }

    /// Keeps a fork of a new branch point of the tenant's prefix tree (where a new sequence
    /// left an existing one), so later sequences with the same prefix find it there even after
    /// the sequences it came from have moved past a sliding window. It shares every block.
    private func keepBranchPoint(_ entry: AgentEntry) {
        guard let cache = entry.cache,
              !(anonymous[entry.tenant] ?? []).contains(where: { $0.tokens == entry.tokens }) else { return }
        let point = AgentEntry(tenant: entry.tenant, id: nil, cache: cache.fork(), tokens: entry.tokens)
        var list = anonymous[entry.tenant] ?? []
        list.append(point)
        while list.count > configuration.anonymousPrefixes { list.removeFirst() }
        anonymous[entry.tenant] = list
    }

    // MARK: Budget and tiers

    /// Every cache in RAM.
    var residentCaches: [SequenceKVCache] {
        agents.values.compactMap(\.cache) + anonymous.values.flatMap { $0.compactMap(\.cache) }
    }

    /// Distinct block bytes in RAM: a prefix shared copy-on-write is counted once.
    var ramBytes: Int { SequenceKVCache.distinctBytes(residentCaches) }
    var diskBytes: Int { agents.values.reduce(0) { $0 + $1.fileBytes } }

    /// Spills idle agents until the RAM budget holds: anonymous prefixes are dropped first,
    /// then agents in least-recently-used order are saved (if their file is stale) and dropped
    /// from RAM. Busy and pinned agents stay. Without a directory, spilled agents are forgotten.
    func enforceRAMBudget() {
        guard let budget = configuration.ramBudget else { return }
        var unsaved = Set<ObjectIdentifier>()
        while ramBytes > budget {
            if let tenant = anonymous.first(where: { !$0.value.isEmpty })?.key {
                anonymous[tenant]!.removeFirst()
                evictions += 1
                continue
            }
            let idle = agents.values.filter {
                $0.cache != nil && !$0.busy && !$0.pinned && !unsaved.contains(ObjectIdentifier($0))
            }
            guard let victim = idle.min(by: { $0.lastUsed < $1.lastUsed }) else { return }
            // A failed save must not lose the agent: it stays in RAM, over budget.
            if !spill(victim) { unsaved.insert(ObjectIdentifier(victim)) }
        }
    }

    private func spill(_ entry: AgentEntry) -> Bool {
        if configuration.directory != nil {
            if entry.dirty || entry.fileBytes == 0 {
                do { try save(entry) } catch {
                    lastSaveError = "\(error)"
                    return false
                }
            }
            entry.cache = nil
        } else if let id = entry.id {
            agents[Key(tenant: entry.tenant, id: id)] = nil
        }
        evictions += 1
        return true
    }

    /// Saves every agent whose RAM state is newer than its file.
    func flush() {
        guard configuration.directory != nil else { return }
        for e in agents.values where e.dirty && e.cache != nil && !e.busy {
            try? save(e)
        }
    }

    var hasDirtyAgents: Bool {
        configuration.directory != nil && agents.values.contains { $0.dirty && $0.cache != nil && !$0.busy && !$0.saving }
    }

    /// A save to run outside the lock: a copy-on-write fork of the cache, so the scheduler
    /// goes on while the file is written.
    struct Snapshot: @unchecked Sendable {
        let entry: AgentEntry
        let cache: SequenceKVCache
        let tokens: [Int32]
        let extra: [String: String]
        let url: URL
        let version: Int
    }

    /// The next agent whose file is stale and that has been idle for `idleFor` seconds (a
    /// conversation's next turn usually comes soon: saving then would compete with it), marked
    /// as being saved.
    func takeSnapshot(idleFor: TimeInterval) -> Snapshot? {
        let now = Date()
        guard configuration.directory != nil,
              let e = agents.values.first(where: {
                  $0.dirty && $0.cache != nil && !$0.busy && !$0.saving && now.timeIntervalSince($0.lastUsed) >= idleFor
              }),
              let url = fileURL(e), let cache = e.cache else { return nil }
        e.saving = true
        return Snapshot(entry: e, cache: cache.fork(), tokens: e.tokens, extra: header(e), url: url, version: e.version)
    }

    /// Writes a snapshot (no lock needed) and returns the file's size.
    func write(_ s: Snapshot) throws -> Int {
        try FileManager.default.createDirectory(at: s.url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SessionFile.write(cache: s.cache, tokens: s.tokens, fingerprint: engine.fingerprint, extra: s.extra, to: s.url)
        return (try? FileManager.default.attributesOfItem(atPath: s.url.path)[.size] as? Int) ?? 0
    }

    /// Records a finished background save (`bytes` nil: it failed and the entry stays dirty).
    func finish(_ s: Snapshot, bytes: Int?) {
        let e = s.entry
        e.saving = false
        guard let id = e.id, agents[Key(tenant: e.tenant, id: id)] === e else {
            try? FileManager.default.removeItem(at: s.url)  // deleted while it was being written
            return
        }
        guard let bytes else { return }
        e.fileBytes = bytes
        if e.version == s.version { e.dirty = false }
        enforceDiskBudget(keeping: e)
    }

    // MARK: Introspection

    func list(tenant: String) -> [AgentInfo] {
        agents.values.filter { $0.tenant == tenant }.map { e in
            AgentInfo(id: e.id!, tokens: e.tokens.count,
                      bytes: e.cache?.bytesAllocated ?? e.fileBytes,
                      tier: e.cache == nil ? .disk : .ram, lastUsed: e.lastUsed, pinned: e.pinned)
        }.sorted { $0.id < $1.id }
    }

    func delete(tenant: String, id: String) throws {
        guard let e = agents.removeValue(forKey: Key(tenant: tenant, id: id)) else { throw AgentError.notFound(agent: id) }
        if let url = fileURL(e) { try? FileManager.default.removeItem(at: url) }
    }

    /// Writes an idle agent to the disk tier and drops it from RAM now (needs a directory).
    func offload(tenant: String, id: String) throws {
        guard let e = agents[Key(tenant: tenant, id: id)] else { throw AgentError.notFound(agent: id) }
        guard e.cache != nil, !e.busy, configuration.directory != nil else { return }
        if !spill(e) { throw AgentError.saveFailed(agent: id) }
    }

    func setNotes(tenant: String, id: String, _ notes: [String: String]) throws {
        guard let e = agents[Key(tenant: tenant, id: id)] else { throw AgentError.notFound(agent: id) }
        e.notes = notes
        e.dirty = true
        e.version += 1
    }

    func setPinned(tenant: String, id: String, _ pinned: Bool) throws {
        guard let e = agents[Key(tenant: tenant, id: id)] else { throw AgentError.notFound(agent: id) }
        e.pinned = pinned
        e.dirty = true
        e.version += 1
    }

    /// Every agent in the store, of every tenant (for the CLI's `agents list`).
    func all() -> [(tenant: String, info: AgentInfo)] {
        Set(agents.keys.map(\.tenant)).sorted().flatMap { t in list(tenant: t).map { (t, $0) } }
    }

    // MARK: Disk

    private func fileURL(_ e: AgentEntry) -> URL? {
        guard let dir = configuration.directory, let id = e.id else { return nil }
        return AgentDirectory.fileURL(directory: dir, tenant: e.tenant, id: id)
    }

    /// What an agent's file header carries besides the cache.
    private func header(_ e: AgentEntry) -> [String: String] {
        var extra = Dictionary(uniqueKeysWithValues: e.notes.map { (AgentDirectory.notePrefix + $0.key, $0.value) })
        extra["agent_id"] = e.id ?? ""
        extra["tenant"] = e.tenant
        extra["pinned"] = e.pinned ? "1" : "0"
        extra["last_used"] = String(e.lastUsed.timeIntervalSince1970)
        return extra
    }

    private func save(_ e: AgentEntry) throws {
        guard let url = fileURL(e), let cache = e.cache else { return }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SessionFile.write(cache: cache, tokens: e.tokens, fingerprint: engine.fingerprint, extra: header(e), to: url)
        e.fileBytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        e.dirty = false
        enforceDiskBudget(keeping: e)
    }

    func restore(_ e: AgentEntry) throws {
        guard let url = fileURL(e) else { throw AgentError.notFound(agent: e.id ?? "") }
        let contents = try SessionFile.read(path: url.path, fingerprint: engine.fingerprint,
                                            layers: engine.model.cacheConfiguration(contextLength: 1).layers)
        e.cache = contents.cache
        e.tokens = contents.tokens
        e.dirty = false
        restores += 1
    }

    /// Deletes the least recently used unpinned files until the disk budget holds. An agent
    /// still in RAM only loses its file (it is saved again when next spilled).
    private func enforceDiskBudget(keeping kept: AgentEntry) {
        guard let budget = configuration.diskBudget else { return }
        while diskBytes > budget {
            let candidates = agents.values.filter { $0.fileBytes > 0 && !$0.pinned && $0 !== kept && !$0.busy }
            guard let victim = candidates.min(by: { $0.lastUsed < $1.lastUsed }) else { return }
            if let url = fileURL(victim) { try? FileManager.default.removeItem(at: url) }
            victim.fileBytes = 0
            if victim.cache == nil {
                agents[Key(tenant: victim.tenant, id: victim.id!)] = nil
            } else {
                victim.dirty = true
            }
            evictions += 1
        }
    }

    /// Registers every saved agent of this model as a disk-tier entry (headers only; the
    /// caches are read when first used). Files of other models are skipped; damaged ones are
    /// returned.
    private func loadIndex(_ dir: URL) -> [String] {
        let (found, unreadable) = AgentDirectory(url: dir).scan()
        for saved in found where saved.modelFingerprint == engine.fingerprint {
            let e = AgentEntry(tenant: saved.tenant, id: saved.id, cache: nil, tokens: saved.tokens, lastUsed: saved.lastUsed)
            e.pinned = saved.pinned
            e.fileBytes = saved.fileBytes
            e.notes = saved.notes
            agents[Key(tenant: saved.tenant, id: saved.id)] = e
        }
        return unreadable
    }
}

/// Length of the longest common prefix.
func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
    var n = 0
    let limit = min(a.count, b.count)
    while n < limit && a[n] == b[n] { n += 1 }
    return n
}
