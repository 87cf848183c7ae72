import APIWire
import Engine
import Foundation
import Hummingbird

/// What every route needs: configuration, keys, the prompt builder and the generator.
struct RouteContext: Sendable {
    let configuration: ServerConfiguration
    let keys: Set<String>
    let builder: PromptBuilder
    let generator: Generator

    var backend: any CompletionBackend { generator.backend }

    func authenticate(_ request: Request) throws(APIError) -> Caller {
        try Caller.authenticate(request, keys: keys)
    }

    /// The common start of every generation route: the caller's key, the decoded body, and a
    /// model this server serves.
    func admit<Body: Decodable>(_ request: Request, as type: Body.Type, model: (Body) -> String) async throws(APIError) -> (Caller, Body) {
        let caller = try authenticate(request)
        let body = try await RequestBody.decode(type, from: request, limit: configuration.maxBodyBytes)
        try checkModel(model(body))
        return (caller, body)
    }

    static func requireOneChoice(_ n: Int?) throws(APIError) {
        if let n, n != 1 { throw APIError.badRequest("n must be 1: this server returns one choice per request (got \(n))") }
    }

    func checkModel(_ model: String) throws(APIError) {
        guard configuration.accepts(model: model) else {
            throw APIError(.notFound, "model '\(model)' not found: this server serves '\(configuration.modelName)'")
        }
    }

    /// One token's OpenAI log-probability entry. The sampled token's value comes from the
    /// engine's candidates; if sampling picked one outside them, the smallest candidate bounds it.
    func logprob(_ token: GeneratedToken, top: Int) -> OpenAITokenLogprob? {
        guard token.id >= 0 else { return nil }  // held-back text flushed at the end, not a token
        let tokenizer = backend.engine.tokenizer
        func entry(_ id: Int32) -> (String, [UInt8]) {
            let bytes = tokenizer.piece(id, renderSpecial: false)
            return (String(decoding: bytes, as: UTF8.self), bytes)
        }
        let candidates = token.topLogprobs
        let own = candidates.first { $0.id == token.id }?.logprob ?? candidates.last?.logprob ?? 0
        let (text, bytes) = entry(token.id)
        return OpenAITokenLogprob(
            token: text, logprob: Double(own), bytes: bytes,
            topLogprobs: candidates.prefix(top).map { candidate in
                let (text, bytes) = entry(candidate.id)
                return OpenAITopLogprob(token: text, logprob: Double(candidate.logprob), bytes: bytes)
            })
    }
}
