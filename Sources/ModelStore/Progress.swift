/// Receives progress of a long install step. `total` is nil when the size is unknown.
public typealias ProgressHandler = @Sendable (_ phase: String, _ done: Int64, _ total: Int64?) -> Void

/// Reports progress at most every `step` bytes so a handler is not called per chunk.
struct ThrottledProgress {
    let phase: String
    let total: Int64?
    let handler: ProgressHandler
    var done: Int64 = 0
    private var lastReported: Int64 = -1
    let step: Int64 = 4 << 20

    init(phase: String, total: Int64?, start: Int64 = 0, handler: @escaping ProgressHandler) {
        self.phase = phase
        self.total = total
        self.handler = handler
        self.done = start
        handler(phase, start, total)
        lastReported = start
    }

    mutating func advance(by count: Int) {
        done += Int64(count)
        if done - lastReported >= step || done == total {
            handler(phase, done, total)
            lastReported = done
        }
    }

    mutating func finish() {
        if lastReported != done { handler(phase, done, total) }
    }
}
