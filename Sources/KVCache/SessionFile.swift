import Foundation

/// Why a saved session was refused. Each case says which check failed, so a user can tell a
/// damaged file from one that belongs to another model or another rdic version.
public enum SessionFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened, or is cut short (a tensor ends past the end of the file).
    case unreadable(SafetensorsError)
    /// A safetensors file, but not an rdic session.
    case notASession(path: String)
    case unsupportedVersion(path: String, found: String, supported: Int)
    case wrongModel(path: String, file: String, loaded: String)
    /// The stored checksum does not match the bytes: the file was corrupted or edited.
    case checksumMismatch(path: String, stored: String, computed: String)
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let e): "cannot read session: \(e)"
        case .notASession(let p): "\(p): not an rdic session file"
        case .unsupportedVersion(let p, let f, let s): "\(p): session format version \(f), this rdic reads versions 1 to \(s)"
        case .wrongModel(let p, let f, let l): "\(p): saved from another model (fingerprint \(f), loaded model \(l))"
        case .checksumMismatch(let p, let s, let c): "\(p): corrupted (checksum \(c), file says \(s))"
        case .malformed(let p, let r): "\(p): malformed session: \(r)"
        }
    }
}

/// A session's cache and tokens as one safetensors file.
///
/// Layout: per layer `layers.N.keys` / `layers.N.values` (dtype F16 or F32, shape
/// `[tokens, kvHeads, length]`; quantized rows as U8 `[tokens, rowBytes]`) and `layers.N.positions` (I32), holding only the tokens the
/// layer still stores (a sliding layer: its window). The `__metadata__` header holds the format
/// version, the model fingerprint, the token ids, the per-layer kind and window state, the key
/// and value types and whether quantized rows are Hadamard-rotated (`kv_rotation`), and an
/// XXH64 checksum over the header values and the whole data section.
public enum SessionFile {
    public static let formatName = "rdic-kv-session"
    /// Version 2 added the `q4` type and its per-layer offsets (`layers.N.key_offsets` and
    /// `layers.N.value_offsets`, F32 `[kvHeads, length]`). Version 3 changed `q4`'s layout and
    /// records it (`q4_layout`), with per layer its key scales (`layers.N.key_scales`) and the
    /// exactly kept first tokens (`layers.N.exact_keys` / `exact_values`, F16). Versions 1 and 2
    /// read the same way, except a version 2 `q4` session, which is refused (its rows are in the
    /// old layout).
    public static let formatVersion = 3
    public static let readableVersions = 1...3

    /// What comes back from a file besides the cache.
    public struct Contents: Sendable {
        public var cache: SequenceKVCache
        public var tokens: [Int32]
        public var metadata: [String: String]
    }

    /// Writes `cache` and `tokens` atomically (temp file, fsync, rename) to `url`.
    public static func write(cache: SequenceKVCache, tokens: [Int32], fingerprint: String,
                             extra: [String: String] = [:], to url: URL) throws {
        precondition(cache.pending == 0, "save between batches")
        let config = cache.configuration
        let bt = config.blockTokens
        var writer = SafetensorsWriter()
        var layerInfo: [[String: Any]] = []
        for l in cache.layers.indices {
            let shape = cache.layers[l].shape
            let stored = cache.storedTokens(layer: l)
            var keys = [UInt8](), values = [UInt8](), positions = [UInt8]()
            for t in stored {
                let (block, s) = cache.slot(layer: l, token: t)
                keys += UnsafeRawBufferPointer(start: block.key(s), count: block.keyRowBytes)
                values += UnsafeRawBufferPointer(start: block.value(s), count: block.valueRowBytes)
                withUnsafeBytes(of: block.positions[s].littleEndian) { positions += $0 }
            }
            let (kType, kShape) = tensorLayout(config.storage.key, key: true, tokens: stored.count, heads: shape.kvHeads, length: shape.keyLength)
            let (vType, vShape) = tensorLayout(config.storage.value, key: false, tokens: stored.count, heads: shape.kvHeads, length: shape.valueLength)
            writer.add("layers.\(l).keys", dtype: kType, shape: kShape, bytes: keys)
            writer.add("layers.\(l).values", dtype: vType, shape: vShape, bytes: values)
            writer.add("layers.\(l).positions", dtype: "I32", shape: [stored.count], bytes: positions)
            if let offsets = cache.rowOffsets[l] {
                writer.add("layers.\(l).key_offsets", dtype: "F32", shape: [shape.kvHeads, shape.keyLength], bytes: bytes(offsets.keys))
                writer.add("layers.\(l).value_offsets", dtype: "F32", shape: [shape.kvHeads, shape.valueLength],
                           bytes: bytes(offsets.values))
                if !offsets.keyScales.isEmpty {
                    writer.add("layers.\(l).key_scales", dtype: "F32", shape: [shape.kvHeads, shape.keyLength],
                               bytes: bytes(offsets.keyScales))
                }
            }
            if let exact = cache.exactRows {
                let n = min(exact.tokens[l], cache.count)
                writer.add("layers.\(l).exact_keys", dtype: "F16", shape: [n, shape.kvHeads, shape.keyLength],
                           bytes: Array(UnsafeRawBufferPointer(start: exact.key(layer: l, token: 0), count: 2 * n * shape.kvHeads * shape.keyLength)))
                writer.add("layers.\(l).exact_values", dtype: "F16", shape: [n, shape.kvHeads, shape.valueLength],
                           bytes: Array(UnsafeRawBufferPointer(start: exact.value(layer: l, token: 0), count: 2 * n * shape.kvHeads * shape.valueLength)))
            }
            layerInfo.append(["kind": shape.window == nil ? "global" : "sliding", "window": shape.window ?? 0,
                              "first_token": stored.lowerBound, "kv_heads": shape.kvHeads,
                              "key_length": shape.keyLength, "value_length": shape.valueLength])
        }
        var meta = extra
        meta["format"] = formatName
        meta["format_version"] = String(formatVersion)
        meta["model_fingerprint"] = fingerprint
        meta["tokens"] = try json(tokens.map { Int($0) })
        meta["token_count"] = String(cache.count)
        meta["next_position"] = String(cache.nextPosition)
        meta["block_tokens"] = String(bt)
        meta["context_length"] = String(config.contextLength)
        meta["key_type"] = config.storage.key.rawValue
        meta["value_type"] = config.storage.value.rawValue
        meta["kv_rotation"] = config.storage.rotation ? "hadamard" : "none"
        if config.storage.key == .q4 { meta["q4_layout"] = Q4Layout.current.description }
        meta["layers"] = try json(layerInfo)
        writer.metadata = meta
        let (_, data) = try writer.encode()
        writer.metadata["checksum_xxh64"] = checksum(metadata: meta, data: data)
        try writer.write(to: url)
    }

    /// Reads a session file, refusing it unless it is whole, unaltered, of this format
    /// version and saved from the model with `fingerprint` whose cache layers are `layers`.
    ///
    /// The checksum is computed while the layers are copied into the cache (both threads of a
    /// two-core machine: restoring a warm agent from disk is a request's latency), and checked
    /// before anything else is: a damaged file reports its checksum, not what it broke.
    public static func read(path: String, fingerprint: String, layers expected: [KVLayerShape]) throws(SessionFileError) -> Contents {
        try decode(try openUnverified(path), fingerprint: fingerprint, expected: expected)
    }

    /// The header of the session file at `path` once every check that needs no model has
    /// passed (whole, rdic session, this format version, checksum): for copying, exporting or
    /// listing sessions without loading their model.
    public static func verify(path: String) throws(SessionFileError) -> [String: String] {
        let file = try openUnverified(path)
        if let error = checksumError(file) { throw error }
        return file.metadata
    }

    /// The file, if it opens as an rdic session of a readable version that carries a checksum.
    private static func openUnverified(_ path: String) throws(SessionFileError) -> SafetensorsFile {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: path) } catch { throw .unreadable(error) }
        let m = file.metadata
        guard m["format"] == formatName else { throw .notASession(path: path) }
        guard let version = m["format_version"].flatMap({ Int($0) }), readableVersions.contains(version) else {
            throw .unsupportedVersion(path: path, found: m["format_version"] ?? "none", supported: formatVersion)
        }
        guard m["checksum_xxh64"] != nil else { throw .malformed(path: path, reason: "no checksum") }
        return file
    }

    /// Nil when the stored checksum matches the header values and data section.
    private static func checksumError(_ file: SafetensorsFile) -> SessionFileError? {
        var rest = file.metadata
        let stored = rest.removeValue(forKey: "checksum_xxh64") ?? ""
        let computed = file.withDataSection { checksum(metadata: rest, bytes: $0) }
        return computed == stored ? nil : .checksumMismatch(path: file.path, stored: stored, computed: computed)
    }

    /// A session's header as `decode` needs it.
    private struct Header {
        let count: Int
        let next: Int32
        let tokens: [Int]
        let info: [[String: Any]]
        let config: KVCacheConfiguration
    }

    /// The cache and tokens, checked in this order: checksum, model, the rest of the file.
    /// Layers are checked and their blocks allocated on the calling thread (blocks allocated by
    /// worker threads came from their own malloc arenas: +18 MiB resident over a budget run);
    /// then the rows are copied on every core beside the checksum (one task).
    private static func decode(_ file: SafetensorsFile, fingerprint: String,
                               expected: [KVLayerShape]) throws(SessionFileError) -> Contents {
        let planned = Result { () throws(SessionFileError) -> (Header, SequenceKVCache, [LayerPlan]) in
            let header = try decodeHeader(file, expected: expected)
            let cache = SequenceKVCache(configuration: header.config)
            var plans: [LayerPlan] = []
            for (l, shape) in expected.enumerated() {
                plans.append(try planLayer(l, of: file, header: header, shape: shape, exactTokens: cache.exactRows?.tokens[l]))
            }
            return (header, cache, plans)
        }
        // Task 0 writes only the verdict; task l + 1 only layer l's blocks and exact rows.
        nonisolated(unsafe) var verdict: SessionFileError?
        if case .success(let (_, cache, plans)) = planned {
            let exact = cache.exactRows
            DispatchQueue.concurrentPerform(iterations: plans.count + 1) { i in
                if i == 0 { verdict = checksumError(file) } else { copyRows(plans[i - 1], layer: i - 1, of: file, exact: exact) }
            }
        } else {
            verdict = checksumError(file)
        }
        if let verdict { throw verdict }
        guard file.metadata["model_fingerprint"] == fingerprint else {
            throw .wrongModel(path: file.path, file: file.metadata["model_fingerprint"] ?? "none", loaded: fingerprint)
        }
        let (header, cache, plans) = try planned.get()
        for (l, plan) in plans.enumerated() {
            cache.layers[l] = plan.layer
            cache.rowOffsets[l] = plan.offsets
        }
        cache.count = header.count
        cache.nextPosition = header.next
        return Contents(cache: cache, tokens: header.tokens.map { Int32($0) }, metadata: file.metadata)
    }

    private static func decodeHeader(_ file: SafetensorsFile, expected: [KVLayerShape]) throws(SessionFileError) -> Header {
        let path = file.path, m = file.metadata
        func bad(_ r: String) -> SessionFileError { .malformed(path: path, reason: r) }
        guard let count = m["token_count"].flatMap({ Int($0) }), let next = m["next_position"].flatMap({ Int32($0) }),
              let bt = m["block_tokens"].flatMap({ Int($0) }), bt > 0,
              let context = m["context_length"].flatMap({ Int($0) }), context >= count,
              let keyType = m["key_type"].flatMap({ KVElementType(rawValue: $0) }),
              let valueType = m["value_type"].flatMap({ KVElementType(rawValue: $0) }),
              let rotation = ["hadamard": true, "none": false][m["kv_rotation"] ?? "none"],
              let tokenData = m["tokens"]?.data(using: .utf8),
              let tokens = (try? JSONSerialization.jsonObject(with: tokenData)) as? [Int], tokens.count == count,
              let layerData = m["layers"]?.data(using: .utf8),
              let info = (try? JSONSerialization.jsonObject(with: layerData)) as? [[String: Any]]
        else { throw bad("missing or invalid header fields") }
        guard info.count == expected.count else { throw bad("\(info.count) layers, the model has \(expected.count)") }
        let storage = KVStorage(key: keyType, value: valueType, rotation: rotation)
        if storage.key == .q4 || storage.value == .q4 {
            let layout = Q4Layout.current.description
            guard let saved = m["q4_layout"] else {
                throw bad("a q4 session from format version \(m["format_version"] ?? "?"), whose rows are in q4's old layout; "
                          + "this rdic's q4 is \(layout): re-create the session")
            }
            guard saved == layout else { throw bad("q4 rows in layout \(saved), this rdic's q4 is \(layout): re-create the session") }
        }
        let config = KVCacheConfiguration(layers: expected, storage: storage, blockTokens: bt, contextLength: context)
        return Header(count: count, next: next, tokens: tokens, info: info, config: config)
    }

    /// One layer of a file, checked against the model: its empty blocks, where its rows are.
    private struct LayerPlan {
        let layer: KVLayer
        let offsets: KVRowOffsets?
        let keys: SafetensorsEntry, values: SafetensorsEntry, positions: SafetensorsEntry
        /// The exactly kept first rows, when there are any.
        let exact: (keys: SafetensorsEntry, values: SafetensorsEntry)?
    }

    private static func planLayer(_ l: Int, of file: SafetensorsFile, header: Header, shape: KVLayerShape,
                                  exactTokens: Int?) throws(SessionFileError) -> LayerPlan {
        let config = header.config, count = header.count, bt = config.blockTokens
        func bad(_ r: String) -> SessionFileError { .malformed(path: file.path, reason: r) }
        guard let first = header.info[l]["first_token"] as? Int, first % bt == 0, first <= count,
              (header.info[l]["window"] as? Int ?? 0) == (shape.window ?? 0),
              let keys = file.entry("layers.\(l).keys"), let values = file.entry("layers.\(l).values"),
              let positions = file.entry("layers.\(l).positions")
        else { throw bad("layer \(l) does not match the model") }
        let n = count - first
        let kRow = config.keyRowBytes(layer: l), vRow = config.valueRowBytes(layer: l)
        guard keys.range.count == n * kRow, values.range.count == n * vRow, positions.range.count == 4 * n else {
            throw bad("layer \(l) tensors have the wrong size")
        }
        var layer = KVLayer(shape: shape)
        layer.firstBlock = first / bt
        let blockCount = (count + bt - 1) / bt - layer.firstBlock
        layer.blocks = (0..<blockCount).map { _ in KVBlock(capacity: bt, keyRowBytes: kRow, valueRowBytes: vRow) }
        let offsets = try self.offsets(file, layer: l, shape: shape, centered: config.storage.centers)
        var exact: (keys: SafetensorsEntry, values: SafetensorsEntry)?
        if let exactTokens {
            let n = min(exactTokens, count)
            guard let k = file.entry("layers.\(l).exact_keys"), let v = file.entry("layers.\(l).exact_values"),
                  k.range.count == 2 * n * shape.kvHeads * shape.keyLength, v.range.count == 2 * n * shape.kvHeads * shape.valueLength
            else { throw bad("layer \(l) has no exact first-token rows of the model's shape") }
            if n > 0 { exact = (k, v) }
        }
        return LayerPlan(layer: layer, offsets: offsets, keys: keys, values: values, positions: positions, exact: exact)
    }

    /// Layer `l`'s rows into its planned blocks, a block at a time (its first token is a block
    /// boundary: block b holds its rows b * capacity ..< +capacity), and its exact rows.
    private static func copyRows(_ plan: LayerPlan, layer l: Int, of file: SafetensorsFile, exact: KVExactRows?) {
        file.withBytes(of: plan.keys) { k in
            file.withBytes(of: plan.values) { v in
                file.withBytes(of: plan.positions) { p in
                    let total = p.count / 4
                    for (b, block) in plan.layer.blocks.enumerated() {
                        let i = b * block.capacity, rows = min(block.capacity, total - i)
                        block.keys.copyMemory(from: k.baseAddress! + i * block.keyRowBytes, byteCount: rows * block.keyRowBytes)
                        block.values.copyMemory(from: v.baseAddress! + i * block.valueRowBytes, byteCount: rows * block.valueRowBytes)
                        for s in 0..<rows {
                            block.positions[s] = Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * (i + s), as: Int32.self))
                        }
                    }
                }
            }
        }
        if let exact, let rows = plan.exact {
            file.withBytes(of: rows.keys) { UnsafeMutableRawPointer(exact.key(layer: l, token: 0)).copyMemory(from: $0.baseAddress!, byteCount: rows.keys.range.count) }
            file.withBytes(of: rows.values) { UnsafeMutableRawPointer(exact.value(layer: l, token: 0)).copyMemory(from: $0.baseAddress!, byteCount: rows.values.range.count) }
        }
    }

    /// Layer `l`'s centering offsets: required when the storage centers rows, absent otherwise.
    private static func offsets(_ file: SafetensorsFile, layer l: Int, shape: KVLayerShape,
                                centered: Bool) throws(SessionFileError) -> KVRowOffsets? {
        let k = file.entry("layers.\(l).key_offsets"), v = file.entry("layers.\(l).value_offsets")
        guard centered else { return nil }
        guard let k, let v, k.range.count == 4 * shape.kvHeads * shape.keyLength,
              v.range.count == 4 * shape.kvHeads * shape.valueLength
        else { throw .malformed(path: file.path, reason: "layer \(l) has no centering offsets of the model's shape") }
        func floats(_ e: SafetensorsEntry) -> [Float] {
            file.withBytes(of: e) { b in (0..<(e.range.count / 4)).map { b.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
        }
        var scales: [Float] = []
        if let s = file.entry("layers.\(l).key_scales") {
            guard s.range.count == 4 * shape.kvHeads * shape.keyLength else {
                throw .malformed(path: file.path, reason: "layer \(l) has key scales of the wrong shape")
            }
            scales = floats(s)
        }
        return KVRowOffsets(keys: floats(k), values: floats(v), keyScales: scales)
    }

    private static func bytes(_ floats: [Float]) -> [UInt8] {
        floats.withUnsafeBytes { Array($0) }
    }

    /// The safetensors dtype and shape of `tokens` rows. Quantized rows are opaque bytes to
    /// other readers: U8 `[tokens, rowBytes]`.
    private static func tensorLayout(_ type: KVElementType, key: Bool, tokens: Int, heads: Int, length: Int) -> (String, [Int]) {
        switch type {
        case .f32: ("F32", [tokens, heads, length])
        case .f16: ("F16", [tokens, heads, length])
        case .q8_0, .q4_0, .q4: ("U8", [tokens, heads * (key ? type.keyRowBytes(length) : type.valueRowBytes(length))])
        }
    }

    private static func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    /// XXH64 of the data section seeded with a hash of the header values (sorted by key), so
    /// a change to either the tokens in the header or any cached byte is detected.
    static func checksum(metadata: [String: String], bytes: UnsafeRawBufferPointer) -> String {
        let canonical = metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)\n" }.joined()
        let seed = XXH64.hash(Array(canonical.utf8))
        return String(XXH64.hash(bytes, seed: seed), radix: 16)
    }

    static func checksum(metadata: [String: String], data: [UInt8]) -> String {
        data.withUnsafeBytes { checksum(metadata: metadata, bytes: $0) }
    }
}
