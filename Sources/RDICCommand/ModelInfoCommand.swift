import ArgumentParser
import Foundation
import GGUF
import Models
import TensorFormats

extension ModelCommand {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a model: shape, tensor types, and KV-cache memory per token and at 32K/128K context.")
        @Argument(help: "A model name (rdic model list) or a path to a .gguf file.")
        var model: String

        func run() throws {
            let path = try resolveModelPath(model)
            let file = try GGUFFile(path: path)
            print(ModelInfoReport(name: model, file: file, summary: try ModelSummary(file: file)).text)
        }
    }
}

/// The text `rdic model info` prints.
struct ModelInfoReport {
    let name: String
    let file: GGUFFile
    let summary: ModelSummary

    var text: String {
        let h = summary.hyperparameters
        var rows: [(String, String)] = [
            ("Model", "\(name) (\(file.path))"),
            ("Architecture", h.architecture + (file.metadata.string("general.name").map { " (\($0))" } ?? "")),
            ("Parameters", summary.parameterCount > 0 ? formatCount(summary.parameterCount) : "unknown (no tensors in file)"),
            ("Layers", "\(h.layerCount)"),
            ("Embedding size", "\(h.embeddingLength)"),
            ("Feed-forward size", "\(h.feedForwardLength)"),
            ("Attention heads", "\(h.headCount)"),
            ("KV heads", "\(h.kvHeadCount)" + (h.kvHeadCount < h.headCount ? " (grouped-query, \(h.headCount / h.kvHeadCount) heads per KV head)" : "")),
            ("Head size", h.keyLength == h.valueLength ? "\(h.keyLength)" : "key \(h.keyLength), value \(h.valueLength)"),
            ("Context length", "\(h.contextLength)"),
            ("Vocabulary", "\(summary.vocabularySize)"),
        ]
        let sliding = summary.slidingLayerIndices
        if let window = h.slidingWindow, !sliding.isEmpty {
            rows.append(("Sliding window", "\(window) tokens on \(sliding.count) of \(h.layerCount) layers"))
            rows.append(("Layer pattern", "global layers: " + summary.globalLayerIndices.map(String.init).joined(separator: ", ")))
            rows.append(("RoPE base", "\(formatFloat(h.ropeBase)) global, \(formatFloat(h.slidingRopeBase)) sliding"))
        } else {
            rows.append(("Sliding window", "none (every layer attends to the whole context)"))
            rows.append(("RoPE base", formatFloat(h.ropeBase)))
        }
        rows.append(("Tensor types", summary.tensorTypes.isEmpty ? "none"
            : summary.tensorTypes.map { "\($0.type) \($0.count)" }.joined(separator: ", ")))
        rows.append(("File size", formatBytes(Int64(file.fileSize))))

        rows.append(("KV cache (f16)", "\(formatBinaryBytes(summary.kvBytesPerToken(.f16))) per token (all layers, whole context)"))
        let width = rows.map(\.0.count).max() ?? 0
        let head = rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }
        let table = summary.kvMemoryTable()
        var title = "KV cache by type (keys and values, block scales included)"
        if let window = table.window, table.slidingLayers > 0 {
            title += "; window-aware: the \(table.slidingLayers) sliding layers of \(table.layers) keep only their \(window)-token window, as rdic stores them"
        }
        return (head + ["", title]
            + table.lines.map { "  " + $0 }).joined(separator: "\n")
    }
}

func formatCount(_ n: Int) -> String {
    n >= 1_000_000_000 ? String(format: "%.2f B", Double(n) / 1e9) : String(format: "%.1f M", Double(n) / 1e6)
}

func formatFloat(_ x: Float) -> String { x == x.rounded() ? String(Int(x)) : "\(x)" }
