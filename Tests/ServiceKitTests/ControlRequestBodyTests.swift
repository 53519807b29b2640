import ServiceKit
import Testing

/// Action ids: what a caller may choose, so that a close sent twice is one close; and a reason
/// fitted to what the API takes (the supervisor's trip quotes a rule's inputs, which once ran
/// past 500 characters and had the trip refused).
@Suite struct ControlRequestBodyTests {
    @Test(arguments: ["test-close-0001", "0123456789abcdef0123456789abcdef", "a.b:c_d-e", String(repeating: "x", count: 64)])
    func theseAreActionIds(text: String) {
        #expect(ControlRequestBody.isActionId(text))
    }

    @Test(arguments: ["short", "", "with space", "slash/es", "ünicode-id", "semi;colon1", String(repeating: "x", count: 65)])
    func theseAreNot(text: String) {
        #expect(!ControlRequestBody.isActionId(text))
    }

    @Test func aReasonIsFittedToTheLengthTheAPITakes() {
        let long = "critical-service-down: " + String(repeating: "execution down; ", count: 100)
        let fitted = ControlRequestBody.fitting(long)
        #expect(fitted.count == ControlRequestBody.maxReasonLength && fitted.hasSuffix("…") && long.hasPrefix(fitted.dropLast()))
        let exact = String(repeating: "x", count: ControlRequestBody.maxReasonLength)
        #expect(ControlRequestBody.fitting(exact) == exact)
        #expect(ControlRequestBody.fitting(exact + "y").count == ControlRequestBody.maxReasonLength)
    }
}
