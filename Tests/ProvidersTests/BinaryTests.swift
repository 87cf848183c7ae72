import Foundation
import Testing
@testable import Providers
import TestSupport

/// The built `rdic` executable (found by TestSupport's `RDICBinary`), or `RDIC_BINARY`.
let rdicBinary: String? = {
    if let path = ProcessInfo.processInfo.environment["RDIC_BINARY"], FileManager.default.isExecutableFile(atPath: path) { return path }
    return try? RDICBinary.url.path
}()

/// Runs the binary with exactly `environment` (nothing inherited, so a developer's real keys
/// are never used) and returns stdout, stderr and the exit status.
func runRDIC(_ arguments: [String], environment: [String: String]) async throws -> (out: String, err: String, status: Int32) {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("rdic-home-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: home) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: rdicBinary!)
    process.arguments = arguments
    process.environment = environment.merging(["HOME": home.path, "PATH": "/usr/bin:/bin"]) { a, _ in a }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (stdout, stderr, status)
}

@Suite("The rdic binary", .enabled(if: rdicBinary != nil, "the rdic executable was not built"))
struct BinaryTests {
    @Test("rdic check with nothing configured and no model installed: all SKIP, exit 2")
    func checkNothingConfigured() async throws {
        let result = try await runRDIC(["check"], environment: [:])
        #expect(result.status == 2)
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "- SKIP  claude-haiku-4.5  (ANTHROPIC_API_KEY not set)")
        #expect(lines.contains("- SKIP  smollm2-135m  (model 'smollm2-135m' is not installed; run: rdic model install smollm2-135m)"))
        #expect(lines.last?.hasPrefix("0 passed, 0 failed, 7 skipped") == true)
    }

    @Test("rdic check and rdic ask against a fake backend; a failing backend exits 1; the key never printed")
    func checkAndAsk() async throws {
        let key = "sk-binary-test-key-31415926"
        let server = try await multiBackendServer()
        let env = ["ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": server.baseURL]
        let pass = try await runRDIC(["check", "--model", "claude-haiku-4.5"], environment: env)
        #expect(pass.status == 0)
        let passLines = pass.out.split(separator: "\n").map(String.init)
        #expect(passLines.count == 2 && passLine(passLines[0], "claude-haiku-4.5"))
        #expect(passLines.last == "1 passed, 0 failed, 0 skipped")

        let ask = try await runRDIC(["ask", "--model", "claude-haiku-4.5", "Say hello"], environment: env)
        #expect(ask.status == 0)
        #expect(ask.out == "Hello!\n")

        let json = try await runRDIC(["ask", "--model", "claude-haiku-4.5", "--json", "Say hello"], environment: env)
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any]
        #expect(object?["text"] as? String == "Hi! My name is Claude.")
        await server.shutdown()

        let failing = try await FakeServer { _, _ in
            [.send(HTTPBytes.json(401, BackendWire.anthropic.errorBody("authentication_error", "invalid x-api-key \(key)")))]
        }
        let fail = try await runRDIC(["check"], environment: ["ANTHROPIC_API_KEY": key, "ANTHROPIC_BASE_URL": failing.baseURL])
        await failing.shutdown()
        #expect(fail.status == 1)
        #expect(fail.out.contains("✗ FAIL  claude-haiku-4.5  401 invalid x-api-key [REDACTED]"))
        for text in [pass.out, pass.err, ask.out, ask.err, json.out, json.err, fail.out, fail.err] {
            #expect(!text.contains(key))
        }
    }
}
