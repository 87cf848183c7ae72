import GGUF
import KVCache

/// Identifies a model file's contents well enough to refuse a saved session from another
/// model: a hash of every metadata key with its scalar value (arrays by type and length, so
/// the 262k-entry vocabularies cost nothing) and every tensor's name, type, shape and offset.
/// Two files with the same fingerprint have the same architecture, hyperparameters and
/// tensor layout; the weights' bytes are not read (that would cost seconds per load).
public enum ModelFingerprint {
    public static func of(_ file: GGUFFile) -> String {
        var text = ""
        for key in file.metadata.keys.sorted() {
            text += key + "="
            switch file.metadata[key] {
            case .array(let type, let items)?: text += "array<\(type)>[\(items.count)]"
            case let value?: text += "\(value)"
            case nil: break
            }
            text += "\n"
        }
        for t in file.tensors {
            text += "\(t.name):\(t.type):\(t.shape):\(t.relativeOffset):\(t.byteCount)\n"
        }
        let h = XXH64.hash(Array(text.utf8))
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
