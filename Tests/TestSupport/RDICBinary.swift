import Foundation

/// Runs the built `rdic` executable, which `swift test` builds next to the test bundle, so CLI
/// tests exercise the real argument parsing, output and exit codes.
public enum RDICBinary {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public struct NotBuilt: Error, CustomStringConvertible {
        public let searched: String
        public var description: String { "the rdic executable was not found at \(searched); run `swift build` first" }
    }

    public static var url: URL {
        get throws {
            var dir = Bundle.main.bundleURL
            // Inside an .xctest bundle on Linux the bundle URL is the build folder itself or the bundle.
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("rdic")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
            throw NotBuilt(searched: Bundle.main.bundleURL.path)
        }
    }

    /// Runs `rdic ARGS` with `stdin` as its standard input and the given environment additions.
    public static func run(_ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = try url
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty process cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let errThread = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        errThread.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errThread.isExecuting || !errThread.isFinished { usleep(1000) }
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
