import Foundation
import ModelStore

/// Draws install progress on standard error: a redrawn bar on a terminal, a line per quarter
/// otherwise (logs stay readable).
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var phase = ""
    private var lastQuarter = -1
    private let isTerminal = isatty(STDERR_FILENO) != 0

    var handler: ProgressHandler { { [self] phase, done, total in update(phase, done, total) } }

    private func update(_ newPhase: String, _ done: Int64, _ total: Int64?) {
        lock.withLock {
            if newPhase != phase {
                if isTerminal, !phase.isEmpty { write("\n") }
                phase = newPhase
                lastQuarter = -1
                if !isTerminal { write("\(newPhase)\n") }
            }
            let mb = String(format: "%.1f", Double(done) / 1e6)
            guard let total, total > 0 else {
                if isTerminal { write("\r\(phase)  \(mb) MB") }
                return
            }
            let fraction = min(1, Double(done) / Double(total))
            if isTerminal {
                let width = 30
                let filled = Int(fraction * Double(width))
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                write("\r\(phase)  \(bar) \(Int(fraction * 100))%  \(mb)/\(String(format: "%.1f", Double(total) / 1e6)) MB")
                if done >= total { write("\n"); phase = "" }
            } else if Int(fraction * 4) > lastQuarter {
                lastQuarter = Int(fraction * 4)
                write("  \(Int(fraction * 100))%  \(mb) MB\n")
            }
        }
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
