import Testing

@testable import SystemdNotify

@Suite struct NotifyMessageTests {
    func parse(_ text: String) throws(NotifyMessage.ParseError) -> NotifyMessage {
        try NotifyMessage(parsing: Array(text.utf8))
    }

    @Test func parsesEveryKeyTheSupervisorActsOn() throws {
        let message = try parse(
            "READY=1\nSTATUS=9/9 ready\nWATCHDOG=1\nWATCHDOG=trigger\nWATCHDOG_USEC=2000000\nSTOPPING=1\nRELOADING=1\nMAINPID=42\nEXTEND_TIMEOUT_USEC=5000000\nERRNO=5\nBARRIER=1\nMONOTONIC_USEC=7\n"
        )
        #expect(
            message.assignments == [
                .ready, .status("9/9 ready"), .watchdogPing, .watchdogTrigger, .watchdogInterval(microseconds: 2_000_000), .stopping,
                .reloading, .mainPID(42), .extendTimeout(microseconds: 5_000_000), .errno(5), .barrier,
                .other(key: "MONOTONIC_USEC", value: "7"),
            ])
    }

    @Test func statusKeepsEqualsSignsAndSpaces() throws {
        #expect(try parse("STATUS=a=b c").assignments == [.status("a=b c")])
    }

    @Test func roundTripsThroughText() throws {
        let message = NotifyMessage(assignments: [.ready, .status("ok"), .mainPID(7), .watchdogTrigger])
        #expect(try parse(message.text) == message)
    }

    @Test(arguments: [
        ("", NotifyMessage.ParseError.empty),
        ("\n\n", .empty),
        ("READY", .missingEquals(line: 1)),
        ("READY=1\n=1", .emptyKey(line: 2)),
        ("ready=1", .invalidKey(line: 1, key: "ready")),
        ("READY=2", .invalidValue(key: "READY", value: "2")),
        ("WATCHDOG=yes", .invalidValue(key: "WATCHDOG", value: "yes")),
        ("WATCHDOG_USEC=0", .invalidValue(key: "WATCHDOG_USEC", value: "0")),
        ("WATCHDOG_USEC=-5", .invalidValue(key: "WATCHDOG_USEC", value: "-5")),
        ("MAINPID=abc", .invalidValue(key: "MAINPID", value: "abc")),
        ("MAINPID=0", .invalidValue(key: "MAINPID", value: "0")),
        ("ERRNO=x", .invalidValue(key: "ERRNO", value: "x")),
    ])
    func rejectsMalformedMessages(text: String, expected: NotifyMessage.ParseError) {
        #expect(throws: expected) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8AndOversizedMessages() {
        #expect(throws: NotifyMessage.ParseError.notUTF8) { try NotifyMessage(parsing: [0x53, 0x54, 0xff, 0x3d, 0x31]) }
        let huge = Array("STATUS=".utf8) + [UInt8](repeating: 0x61, count: NotifyMessage.maximumLength)
        #expect(throws: NotifyMessage.ParseError.tooLong(huge.count)) { try NotifyMessage(parsing: huge) }
    }
}
