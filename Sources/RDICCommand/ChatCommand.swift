import Agents
import ArgumentParser
import Engine
import Foundation
import KVCache
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
    @Option(help: "Keep the conversation and its cache on disk under this name (see rdic session): the next run continues without prefilling the history.")
    var session: String?

    func validate() throws { try checkMaxTokens(maxTokens) }

    func run() async throws {
        let engine = try await engineOptions.loadEngine()
        let name = self.session
        let session = try name.map { try SessionStore.library.open($0, engine: engine, contextLength: engineOptions.ctx, kv: try engineOptions.kv.storage()) }
            ?? engine.makeSession(contextLength: engineOptions.ctx, kv: try engineOptions.kv.storage())
        var messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        // A saved conversation carries its messages in the session file's header.
        if let name, !session.tokens.isEmpty,
           let json = try? SessionLibrary.header(SessionStore.library.url(name))["chat_messages"],
           let saved = try? JSONDecoder().decode([ChatMessage].self, from: Data(json.utf8)) {
            messages = saved
            if verbose {
                FileHandle.standardError.write(Data("session \(name): restored \(session.tokens.count) tokens, \(saved.count) messages\n".utf8))
            }
        }
        /// Saves the conversation as the next turn will see it. A generation leaves its last
        /// token and the end-of-turn marker out of the cache; they are run now (work the next
        /// turn would do anyway), so a restored chat prefills only the new message.
        func save() throws {
            guard let name else { return }
            try session.prefill(engine.encode(chat: messages, addGenerationPrompt: false))
            let json = String(decoding: try JSONEncoder().encode(messages), as: UTF8.self)
            try SessionStore.library.save(session, as: name, extra: ["chat_messages": json])
        }
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
                try save()
                continue
            }
            messages.append(.user(text))
            let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling.parameters, stopStrings: sampling.stop)
            let summary = try await streamToStdout(session.generate(prompt: engine.encode(chat: messages), options: options))
            FileHandle.standardOutput.write(Data("\n".utf8))
            messages.append(.assistant(summary.text))
            try save()
            if verbose { printSpeed(summary) }
        }
    }
}
