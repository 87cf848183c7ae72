@testable import Providers

/// One backend's documented wire format, as the fake server plays it. The transcripts follow
/// the providers' documentation: Anthropic's named SSE events, OpenAI/DeepSeek `data:` chunks
/// ending in `[DONE]`, Ollama's NDJSON lines.
struct BackendWire: Sendable, CustomStringConvertible {
    let name: String
    let model: String
    /// The request path the backend must use.
    let path: String
    let make: @Sendable (_ transport: HTTPTransport, _ server: FakeServer, _ key: String) -> any ChatProvider
    /// The header carrying the key, and its expected value for `key`.
    let authHeader: String
    let authValue: @Sendable (String) -> String
    let okBody: String
    let okText: String
    let streamContentType: String
    let streamPieces: [String]
    let streamText: String
    /// The backend's error body for an error type and message.
    let errorBody: @Sendable (_ type: String, _ message: String) -> String

    var description: String { name }

    static let all: [BackendWire] = [anthropic, openai, deepseek, ollama]

    // MARK: Anthropic

    static let anthropic = BackendWire(
        name: "anthropic", model: "claude-haiku-4-5", path: "/v1/messages",
        make: { AnthropicProvider(transport: $0, apiKey: $2, baseURL: $1.baseURL) },
        authHeader: "x-api-key", authValue: { $0 },
        okBody: #"{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"Hi! My name is Claude."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"output_tokens":503}}"#,
        okText: "Hi! My name is Claude.",
        streamContentType: "text/event-stream",
        streamPieces: anthropicStream,
        streamText: "Hello!",
        errorBody: { #"{"type":"error","error":{"type":"\#($0)","message":"\#($1)"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"# })

    static let anthropicStream: [String] = [
        "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-haiku-4-5-20251001\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": 1}}}\n\n",
        "event: content_block_start\ndata: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Hello\"}}\n\n",
        // An event split across two writes, in the middle of the JSON.
        "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_de",
        "lta\", \"text\": \"!\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\": \"content_block_stop\", \"index\": 0}\n\n",
        "event: message_delta\ndata: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n",
        "event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n",
    ]

    // MARK: OpenAI-compatible

    static func openAIChunk(_ delta: String, finish: String = "null", model: String = "gpt-4o-mini") -> String {
        #"data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"\#(model)","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}]}"# + "\n\n"
    }

    static let openai = BackendWire(
        name: "openai", model: "gpt-4o-mini", path: "/v1/chat/completions",
        make: { OpenAICompatibleProvider(transport: $0, baseURL: $1.baseURL + "/v1", apiKey: $2) },
        authHeader: "authorization", authValue: { "Bearer \($0)" },
        okBody: #"{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}"#,
        okText: "Hello! How can I assist you today?",
        streamContentType: "text/event-stream",
        streamPieces: [
            openAIChunk(#"{"role":"assistant","content":"","refusal":null}"#),
            openAIChunk(#"{"content":"Hello"}"#),
            openAIChunk(#"{"content":"!"}"#),
            openAIChunk("{}", finish: #""stop""#),
            #"data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"# + "\n\n",
            "data: [DONE]\n\n",
        ],
        streamText: "Hello!",
        errorBody: { #"{"error":{"message":"\#($1)","type":"\#($0)","param":null,"code":null}}"# })

    // MARK: DeepSeek

    static func deepSeekChunk(_ delta: String, finish: String = "null", usage: String = "") -> String {
        #"data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}]\#(usage)}"# + "\n\n"
    }

    static let deepSeekReasoningStream: [String] = [
        deepSeekChunk(#"{"role":"assistant","content":null,"reasoning_content":""}"#),
        ": keep-alive\n\n",
        deepSeekChunk(#"{"content":null,"reasoning_content":"9.11 < 9.8"}"#),
        deepSeekChunk(#"{"content":null,"reasoning_content":" since 0.11 < 0.8."}"#),
        ": keep-alive\n\n",
        deepSeekChunk(#"{"content":"9.8","reasoning_content":null}"#),
        deepSeekChunk(#"{"content":" is greater.","reasoning_content":null}"#),
        deepSeekChunk(#"{"content":"","reasoning_content":null}"#, finish: #""stop""#,
                      usage: #","usage":{"prompt_tokens":13,"completion_tokens":40,"total_tokens":53,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":30},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13}"#),
        "data: [DONE]\n\n",
    ]

    static let deepseek = BackendWire(
        name: "deepseek", model: "deepseek-reasoner", path: "/chat/completions",
        make: { OpenAICompatibleProvider.deepSeek(transport: $0, apiKey: $2, baseURL: $1.baseURL) },
        authHeader: "authorization", authValue: { "Bearer \($0)" },
        // DeepSeek keeps a slow non-streamed request alive with blank lines before the JSON.
        okBody: "\n\n" + #"{"id":"930c60df-bf64-41c9-a88e-3ec75f81e00e","object":"chat.completion","created":1737000000,"model":"deepseek-reasoner","choices":[{"index":0,"message":{"role":"assistant","content":"9.8 is greater.","reasoning_content":"Compare the tenths: 1 < 8."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":120,"total_tokens":133,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":100},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13},"system_fingerprint":"fp_7e73fd9a08_prod0225"}"#,
        okText: "9.8 is greater.",
        streamContentType: "text/event-stream",
        streamPieces: deepSeekReasoningStream,
        streamText: "9.8 is greater.",
        errorBody: { #"{"error":{"message":"\#($1)","type":"\#($0)","param":null,"code":"invalid_request_error"}}"# })

    // MARK: Ollama

    static func ollamaLine(_ content: String, thinking: String? = nil, done: Bool = false) -> String {
        let think = thinking.map { #","thinking":"\#($0)""# } ?? ""
        if done {
            return #"{"model":"gemma3:12b","created_at":"2025-10-26T17:15:24.166576Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":2,"eval_duration":4535599000}"# + "\n"
        }
        return #"{"model":"gemma3:12b","created_at":"2025-10-26T17:15:24.097767Z","message":{"role":"assistant","content":"\#(content)"\#(think)},"done":false}"# + "\n"
    }

    static let ollama = BackendWire(
        name: "ollama", model: "gemma3:12b", path: "/api/chat",
        // OLLAMA_HOST style: no scheme.
        make: { OllamaProvider(transport: $0, host: "127.0.0.1:\($1.port)", apiKey: $2) },
        authHeader: "authorization", authValue: { "Bearer \($0)" },
        okBody: #"{"model":"gemma3:12b","created_at":"2025-10-26T17:15:24.166576Z","message":{"role":"assistant","content":"Hello! How can I help?"},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":7,"eval_duration":4535599000}"#,
        okText: "Hello! How can I help?",
        streamContentType: "application/x-ndjson",
        streamPieces: [ollamaLine("Hello"), ollamaLine("!"), ollamaLine("", done: true)],
        streamText: "Hello!",
        errorBody: { _, message in #"{"error":"\#(message)"}"# })
}
