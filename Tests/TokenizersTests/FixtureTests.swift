import TestSupport
import Testing
import Tokenizers

/// Token ids must equal llama.cpp's (llama-tokenize, build 11312) for every fixture row.
@Suite(.computeBound) struct FixtureTests {
    @Test(arguments: TokenizeCase.load("gemma3-270m"))
    func gemmaMatchesLlamaCpp(_ c: TokenizeCase) throws {
        let ids = try Models.gemma.encode(c.text, addBOS: c.addBOS ? nil : false, parseSpecial: c.parseSpecial)
        #expect(ids == c.ids)
    }

    @Test(arguments: TokenizeCase.load("smollm2-135m"))
    func smolLMMatchesLlamaCpp(_ c: TokenizeCase) throws {
        let ids = try Models.smollm.encode(c.text, addBOS: c.addBOS ? nil : false, parseSpecial: c.parseSpecial)
        #expect(ids == c.ids)
    }

    @Test func fixturesAreThere() {
        #expect(TokenizeCase.load("gemma3-270m").count == 36)
        #expect(TokenizeCase.load("smollm2-135m").count == 30)
    }
}
