import ServiceKit
import Testing

/// Action ids: what a caller may choose, so that a close sent twice is one close.
@Suite struct ControlRequestBodyTests {
    @Test(arguments: ["test-close-0001", "0123456789abcdef0123456789abcdef", "a.b:c_d-e", String(repeating: "x", count: 64)])
    func theseAreActionIds(text: String) {
        #expect(ControlRequestBody.isActionId(text))
    }

    @Test(arguments: ["short", "", "with space", "slash/es", "ünicode-id", "semi;colon1", String(repeating: "x", count: 65)])
    func theseAreNot(text: String) {
        #expect(!ControlRequestBody.isActionId(text))
    }
}
