import Logging
import Testing

@testable import ServiceKit

@Suite struct LogfmtLogHandlerTests {
    func line(_ message: Logger.Message, metadata: Logger.Metadata = [:], journald: Bool = false, level: Logger.Level = .info) -> String {
        LogfmtLogHandler(label: "vakt.test", level: .trace, journald: journald).format(
            LogEvent(level: level, message: message, metadata: metadata, source: "test", file: "f.swift", function: "f", line: 1))
    }

    @Test func writesOneLogfmtLine() {
        let text = line("child exited; restarting", metadata: ["child": "gateway", "exit": "exited with status 1"])
        #expect(text.hasPrefix("ts="))
        #expect(text.contains(" level=info logger=vakt.test msg=\"child exited; restarting\" child=gateway exit=\"exited with status 1\""))
        #expect(!text.contains("\n"))
    }

    @Test func escapesQuotesAndNewlines() {
        #expect(line("a \"b\"\nc").contains("msg=\"a \\\"b\\\"\\nc\""))
    }

    @Test func redactsSecretLookingKeys() {
        let text = line("auth", metadata: ["control_token": "abc123", "password": "pw", "Authorization": "Bearer x", "user": "vakt"])
        #expect(!text.contains("abc123"))
        #expect(!text.contains("pw "))
        #expect(!text.contains("Bearer"))
        #expect(text.contains("control_token=<redacted>"))
        #expect(text.contains("user=vakt"))
    }

    @Test func journaldGetsPriorityAndNoTimestamp() {
        #expect(line("x", journald: true, level: .warning).hasPrefix("<4>level=warning"))
        #expect(line("x", journald: true, level: .error).hasPrefix("<3>level=error"))
    }
}
