import Foundation
import KVCache

/// The disk tier's folder read without a model: what `rdic agents list|show|rm` work on.
/// Layout: `<directory>/<tenant hash>/<agent id hash>.safetensors`, each an rdic session file
/// whose header also names its tenant, agent id, pin and last use.
public struct AgentDirectory: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// One saved agent, from its file's header.
    public struct Saved: Sendable, Codable, Equatable {
        public var tenant: String
        public var id: String
        public var tokens: [Int32]
        public var fileBytes: Int
        public var lastUsed: Date
        public var pinned: Bool
        public var modelFingerprint: String
        public var path: String
        /// Notes saved with the agent (`AgentRuntime.setNotes`).
        public var notes: [String: String]
    }

    static let notePrefix = "note."

    /// Removes the temporary files of writes that a crash or `kill -9` interrupted (the
    /// destinations themselves are whole: the old version or the new one).
    public func removeStaleTemporaryFiles() {
        let fm = FileManager.default
        for tenantDir in (try? fm.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)) ?? [] {
            for file in (try? fm.contentsOfDirectory(at: tenantDir, includingPropertiesForKeys: nil)) ?? []
            where file.lastPathComponent.hasPrefix(".") && file.pathExtension == "tmp" {
                try? fm.removeItem(at: file)
            }
        }
    }

    /// Every saved agent (of any model), damaged or foreign files skipped.
    public func list() -> [Saved] { scan().saved }

    /// Every saved agent, and the paths of `.safetensors` files in the folder that are not
    /// readable agent files (damaged, truncated, or something else's).
    public func scan() -> (saved: [Saved], unreadable: [String]) {
        let fm = FileManager.default
        guard let tenants = try? fm.contentsOfDirectory(at: url, includingPropertiesForKeys: nil) else { return ([], []) }
        var out: [Saved] = [], unreadable: [String] = []
        for tenantDir in tenants {
            guard let files = try? fm.contentsOfDirectory(at: tenantDir, includingPropertiesForKeys: nil) else { continue }
            for file in files where file.pathExtension == "safetensors" && !file.lastPathComponent.hasPrefix(".") {
                if let saved = Self.read(file) { out.append(saved) } else { unreadable.append(file.path) }
            }
        }
        return (out.sorted { ($0.tenant, $0.id) < ($1.tenant, $1.id) }, unreadable.sorted())
    }

    /// The saved agents named `id` (one per tenant that has it), or of `tenant` only.
    public func find(id: String, tenant: String? = nil) -> [Saved] {
        list().filter { $0.id == id && (tenant == nil || $0.tenant == tenant) }
    }

    /// The one saved agent named `id` (of `tenant`, when given): not found, or found for several
    /// tenants with none named, is an error that says which.
    public func one(id: String, tenant: String? = nil) throws(AgentDirectoryError) -> Saved {
        let found = find(id: id, tenant: tenant)
        guard let first = found.first else { throw .notFound(id: id, tenant: tenant, directory: url.path) }
        guard found.count == 1 else { throw .ambiguous(id: id, tenants: found.map(\.tenant)) }
        return first
    }

    /// Deletes a saved agent's file.
    public func remove(_ saved: Saved) throws {
        try FileManager.default.removeItem(atPath: saved.path)
    }

    static func fileURL(directory: URL, tenant: String, id: String) -> URL {
        directory.appendingPathComponent(hashName(tenant), isDirectory: true)
            .appendingPathComponent(hashName(id) + ".safetensors")
    }

    /// Ids and tenants can be any string, so file names are their hashes; headers keep the
    /// real ones.
    private static func hashName(_ s: String) -> String {
        let h = String(XXH64.hash(Array(s.utf8)), radix: 16)
        return String(repeating: "0", count: max(0, 16 - h.count)) + h
    }

    static func read(_ file: URL) -> Saved? {
        guard let header = try? SafetensorsFile(path: file.path).metadata,
              header["format"] == SessionFile.formatName,
              let tenant = header["tenant"], let id = header["agent_id"],
              let tokensJSON = header["tokens"]?.data(using: .utf8),
              let tokens = try? JSONDecoder().decode([Int32].self, from: tokensJSON) else { return nil }
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        return Saved(tenant: tenant, id: id, tokens: tokens, fileBytes: size,
                     lastUsed: Double(header["last_used"] ?? "").map { Date(timeIntervalSince1970: $0) } ?? .distantPast,
                     pinned: header["pinned"] == "1", modelFingerprint: header["model_fingerprint"] ?? "",
                     path: file.path,
                     notes: Dictionary(uniqueKeysWithValues: header.compactMap { k, v in
                         k.hasPrefix(notePrefix) ? (String(k.dropFirst(notePrefix.count)), v) : nil
                     }))
    }
}

/// A lookup in an agents folder that did not name one agent.
public enum AgentDirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(id: String, tenant: String?, directory: String)
    case ambiguous(id: String, tenants: [String])

    public var description: String {
        switch self {
        case .notFound(let id, let tenant, let directory):
            "no saved agent '\(id)'\(tenant.map { " of tenant \($0)" } ?? "") in \(directory)"
        case .ambiguous(let id, let tenants):
            "agent '\(id)' exists for \(tenants.count) tenants (\(tenants.joined(separator: ", "))): pass --tenant"
        }
    }
}
