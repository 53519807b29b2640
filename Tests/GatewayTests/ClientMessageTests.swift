import Testing

@testable import Gateway

/// What a WebSocket client may say, and what the gateway answers to anything else: each
/// mistake named by its field.
@Suite struct ClientMessageTests {
    func problem(_ text: String) -> String? {
        do {
            _ = try ClientConnection.parseHello(.text(text))
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aHelloIsReadWithItsTopicsAndResumePoint() throws {
        let hello = try ClientConnection.parseHello(
            .text(#"{"type":"hello","token":"t","topics":["market.tick"],"resume":{"epoch":"e","sequence":42}}"#))
        #expect(hello == .init(token: "t", topics: ["market.tick"], resume: .init(epoch: "e", sequence: 42)))
        #expect(try ClientConnection.parseHello(.text(#"{"type":"hello","token":"t"}"#)).topics == FanoutTopics.all)
    }

    @Test func eachMistakeIsNamed() {
        #expect(problem("hello") == "not JSON: hello")
        #expect(problem("[1]") == "expected a JSON object")
        #expect(problem(#"{"type":"subscribe","token":"t"}"#) == "type: the first message must be hello")
        #expect(problem(#"{"type":"hello"}"#) == "token: expected the read token as a string")
        #expect(problem(#"{"type":"hello","token":"t","topics":"market.tick"}"#) == "topics: expected an array of event types")
        #expect(problem(#"{"type":"hello","token":"t","topics":["market.tick", 3]}"#)?.hasPrefix("topics[1]: unknown topic") == true)
        #expect(problem(#"{"type":"hello","token":"t","resume":{"sequence":1}}"#) == "resume.epoch: expected a string")
        #expect(
            problem(#"{"type":"hello","token":"t","resume":{"epoch":"e","sequence":-1}}"#)
                == "resume.sequence: expected a whole number not below 0")
        #expect(problem(#"{"type":"hello","token":"t","resume":[]}"#) == "resume: expected an object with epoch and sequence")
    }
}
