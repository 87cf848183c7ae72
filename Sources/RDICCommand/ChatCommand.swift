import ArgumentParser
import Engine
import Foundation
import Tokenizers

/// `rdic chat`: an interactive multi-turn conversation. The session's cache is kept between
/// turns, so each turn prefills only its new tokens.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Chat with a local model (multi-turn; /reset clears the conversation, /quit ends).")

    @OptionGroup var engineOptions: EngineOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(help: "Most tokens per answer.") var maxTokens: Int = 1024
    @Option(help: "A system prompt.") var system: String?
    @Flag(help: "Print prefill and decode speed after each answer.") var verbose = false

    func run() async throws {
        let engine = try await engineOptions.loadEngine()
        let session = engine.makeSession(contextLength: engineOptions.ctx, kvType: try engineOptions.kvElementType())
        var messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        let interactive = isatty(0) != 0
        while true {
            if interactive { FileHandle.standardOutput.write(Data("> ".utf8)) }
            guard let line = readLine(strippingNewline: true) else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/quit" || text == "/exit" { break }
            if text == "/reset" {
                messages = system.map { [.system($0)] } ?? []
                session.reset()
                continue
            }
            messages.append(.user(text))
            let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling.parameters, stopStrings: sampling.stop)
            let summary = try await streamToStdout(session.generate(prompt: engine.encode(chat: messages), options: options))
            FileHandle.standardOutput.write(Data("\n".utf8))
            messages.append(.assistant(summary.text))
            if verbose { printSpeed(summary) }
        }
    }
}
