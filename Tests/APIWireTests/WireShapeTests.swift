import APIWire
import Foundation
import Testing

/// The shapes the official SDKs send and expect, decoded and encoded through `WireCoding`.
struct WireShapeTests {
    @Test func openAIRequestAcceptsStringOrPartsAndStopAsStringOrArray() throws {
        let json = #"""
        {"model":"m","messages":[{"role":"system","content":"be brief"},
          {"role":"user","content":[{"type":"text","text":"he"},{"type":"text","text":"llo"}]}],
         "max_completion_tokens":7,"max_tokens":9,"stop":"END","stream_options":{"include_usage":true},
         "prompt_cache_key":"agent-1","top_logprobs":2,"logprobs":true}
        """#
        let request = try WireCoding.decode(OpenAIChatRequest.self, from: Data(json.utf8))
        #expect(request.messages.map(\.chatMessage) == [.system("be brief"), .user("hello")])
        #expect(request.tokenLimit == 7)
        #expect(request.stop?.values == ["END"])
        #expect(request.streamOptions?.includeUsage == true)
        #expect(request.promptCacheKey == "agent-1")
        #expect(request.topLogprobs == 2)
        let array = try WireCoding.decode(OneOrMany<String>.self, from: Data(#"["a","b"]"#.utf8))
        #expect(array.values == ["a", "b"])
    }

    @Test func anthropicRequestRequiresMaxTokensAndNamesTheField() throws {
        let json = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#
        do {
            _ = try WireCoding.decode(AnthropicMessagesRequest.self, from: Data(json.utf8))
            Issue.record("decoded without max_tokens")
        } catch {
            #expect(WireCoding.describe(error) == "missing required field 'max_tokens'")
        }
        let blocks = #"""
        {"model":"m","max_tokens":5,"system":[{"type":"text","text":"A"},{"type":"text","text":"B"}],
         "messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"metadata":{"user_id":"u1"},
         "stop_sequences":["\n\n"],"top_k":3}
        """#
        let request = try WireCoding.decode(AnthropicMessagesRequest.self, from: Data(blocks.utf8))
        #expect(request.system?.text == "AB")
        #expect(request.messages.map(\.chatMessage) == [.user("hi")])
        #expect(request.metadata?.userId == "u1")
        #expect(request.topK == 3)
    }

    @Test func responsesEncodeTheDocumentedFieldNamesAndNulls() throws {
        let usage = OpenAIUsage(promptTokens: 10, completionTokens: 2, cachedTokens: 8)
        let chunk = OpenAIChatChunk(id: "c", created: 1, model: "m",
                                    choices: [OpenAIChatChoice(delta: OpenAIResponseMessage(content: "x"))],
                                    usage: nil, object: "chat.completion.chunk")
        let text = String(decoding: try WireCoding.encode(chunk), as: UTF8.self)
        #expect(text.contains(#""finish_reason":null"#))
        #expect(text.contains(#""object":"chat.completion.chunk""#))
        let usageText = String(decoding: try WireCoding.encode(usage), as: UTF8.self)
        #expect(usageText.contains(#""prompt_tokens_details":{"cached_tokens":8}"#))
        #expect(usageText.contains(#""total_tokens":12"#))
        let start = AnthropicStreamEvent.messageStart(AnthropicMessagesResponse(
            id: "msg", model: "m", content: [], stopReason: nil, stopSequence: nil,
            usage: AnthropicUsage(inputTokens: 2, outputTokens: 0, cacheCreationInputTokens: 3, cacheReadInputTokens: 5)))
        let frame = try start.frame()
        #expect(frame.hasPrefix("event: message_start\ndata: {"))
        #expect(frame.hasSuffix("}\n\n"))
        #expect(frame.contains(#""stop_reason":null"#))
        #expect(frame.contains(#""cache_read_input_tokens":5"#))
    }

    @Test func sseFramesSplitMultiLineData() {
        #expect(SSE.frame(event: "e", data: "a\nb") == "event: e\ndata: a\ndata: b\n\n")
        #expect(SSE.done == "data: [DONE]\n\n")
    }
}
