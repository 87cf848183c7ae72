import Testing
import Foundation
@testable import Providers

@Suite("SSE parser and NDJSON splitter")
struct SSEParserTests {
    @Test("the spec's examples: multi-line data, comments, event names, missing space after colon")
    func specExamples() {
        var parser = SSEParser()
        let events = parser.feed(": this is a test stream\n\ndata: some text\n\ndata: another message\ndata: with two lines \n\nevent: add\ndata:73857293\n\n")
        #expect(events == [
            SSEEvent(data: "some text"),
            SSEEvent(data: "another message\nwith two lines "),
            SSEEvent(event: "add", data: "73857293"),
        ])
        #expect(parser.commentCount == 1)
        #expect(!parser.hasPartialEvent)
    }

    @Test("`data` with no colon is an empty data line; an event with no data is not dispatched")
    func emptyData() {
        var parser = SSEParser()
        #expect(parser.feed("data\n\ndata\ndata\n\nevent: ping\n\n") == [SSEEvent(data: ""), SSEEvent(data: "\n")])
    }

    @Test("CRLF, CR and LF line endings; a BOM at the start; id and retry fields")
    func lineEndings() {
        var parser = SSEParser()
        let events = parser.feed("\u{FEFF}id: 7\r\nretry: 1500\r\ndata: a\r\n\r\ndata: b\r\rdata: c\n\n")
        #expect(events == [SSEEvent(data: "a", id: "7"), SSEEvent(data: "b", id: "7"), SSEEvent(data: "c", id: "7")])
        #expect(parser.retryMilliseconds == 1500)
    }

    @Test("bytes fed one at a time, splitting CRLF pairs and UTF-8 sequences, give the same events")
    func byteByByte() {
        let text = "event: content_block_delta\r\ndata: {\"text\": \"héllo 🌍\"}\r\n\r\n: keep-alive\r\n\r\ndata: [DONE]\r\n\r\n"
        var whole = SSEParser()
        let expected = whole.feed(text)
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for byte in Array(text.utf8) { events += parser.feed([byte]) }
        #expect(events == expected)
        #expect(events == [SSEEvent(event: "content_block_delta", data: "{\"text\": \"héllo 🌍\"}"), SSEEvent(data: "[DONE]")])
        #expect(parser.commentCount == 1)
    }

    @Test("an unfinished event at the end is reported as partial, not dispatched")
    func partialEvent() {
        var parser = SSEParser()
        #expect(parser.feed("data: {\"a\":").isEmpty)
        #expect(parser.hasPartialEvent)
        var complete = SSEParser()
        _ = complete.feed("data: x\n\n")
        #expect(!complete.hasPartialEvent)
    }

    @Test("NDJSON lines split anywhere, CRLF tolerated, final line without newline")
    func lines() {
        var splitter = LineSplitter()
        var lines = splitter.feed(Array("{\"a\":1}\r\n{\"b\"".utf8))
        lines += splitter.feed(Array(":2}\n\n{\"c\":3}".utf8))
        #expect(lines == ["{\"a\":1}", "{\"b\":2}"])
        #expect(splitter.finish() == "{\"c\":3}")
        #expect(splitter.finish() == nil)
    }
}

@Suite("Lenient end of stream")
struct SSEFinishTests {
    @Test("finish() returns an event whose last line was complete, never a cut-off line")
    func finish() {
        var parser = SSEParser()
        #expect(parser.feed("data: [DONE]\n").isEmpty)
        #expect(parser.finish() == SSEEvent(data: "[DONE]"))
        var cut = SSEParser()
        _ = cut.feed("data: {\"type\": \"content_blo")
        #expect(cut.finish() == nil)
    }

    @Test("a server closing right after `data: [DONE]\\n` (no blank line) still completes the stream")
    func doneWithoutBlankLine() async throws {
        var pieces = BackendWire.openai.streamPieces
        pieces[pieces.count - 1] = "data: [DONE]\n"
        let server = try await FakeServer(script: [HTTPBytes.stream(pieces)])
        try await withServer(server) { server, transport in
            let (events, error) = await drain(OpenAICompatibleProvider(transport: transport, baseURL: server.baseURL + "/v1", apiKey: nil)
                .stream(ChatRequest(model: "m", messages: [.user("Hi")])))
            #expect(error == nil)
            #expect(events.final?.text == "Hello!")
        }
    }
}
