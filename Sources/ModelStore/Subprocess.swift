import Foundation

/// Runs helper tools (pip, python's zipfile) and turns their failures into typed errors.
enum Subprocess {
    /// Runs to completion with its output on our standard error, so the user sees pip's own
    /// progress bar and, on failure, its explanation.
    static func run(_ tool: String, _ arguments: [String], toolName: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        do { try process.run() } catch { throw ModelStoreError.toolMissing(toolName) }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            if process.terminationStatus == 127 { throw ModelStoreError.toolMissing(toolName) }
            throw ModelStoreError.toolFailed(command: ([tool] + arguments.prefix(3)).joined(separator: " "),
                                             status: process.terminationStatus, output: "")
        }
    }

    /// Runs and hands its standard output to `body` chunk by chunk.
    static func stream(_ tool: String, _ arguments: [String], toolName: String, _ body: (Data) throws -> Void) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { throw ModelStoreError.toolMissing(toolName) }
        let reader = output.fileHandleForReading
        while true {
            let chunk = reader.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            try body(chunk)
        }
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ModelStoreError.toolFailed(command: tool, status: process.terminationStatus, output: String(errorText.suffix(2000)))
        }
    }
}
