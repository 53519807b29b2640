import Foundation
import HealthMesh
import Logging
import Testing
import VaktTesting

@testable import Supervisor

/// The file a restarted supervisor reads to go on holding trading: missing means no hold, and an
/// unreadable one holds the halt service rather than guessing that trading may run.
@Suite struct SafetyHoldRecordTests {
    let logger = Logger(label: "test")
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func noRecordMeansNoHold() throws {
        let directory = try TestEnvironment.temporaryDirectory("hold")
        #expect(
            SafetyDriver.readRecord(at: directory.path + "/safety-hold.json", haltService: "execution", now: now, logger: logger) == nil)
    }

    @Test func anUnreadableRecordHoldsTheHaltServiceAndSaysWhy() throws {
        let path = try TestEnvironment.temporaryDirectory("hold").path + "/safety-hold.json"
        for content in ["", "{\"hold\": {\"service\": 7}}", "not json"] {
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            let record = try #require(SafetyDriver.readRecord(at: path, haltService: "execution", now: now, logger: logger))
            #expect(record.hold.service == "execution")
            #expect(record.hold.since == now)
            #expect(record.hold.reason.hasPrefix("unreadable hold record at \(path)"))
            #expect(record.hold.restartOnRelease)
            #expect(record.owed.isEmpty)
        }
    }

    @Test func aRecordReadsBackAsWritten() throws {
        let path = try TestEnvironment.temporaryDirectory("hold").path + "/safety-hold.json"
        let firing = SafetyFiring(rule: "feeder-down", condition: "service_down", reason: "feeder failing", since: now)
        let written = SafetyDriver.HoldRecord(
            hold: .init(
                service: "execution", since: now, reason: "risk unreachable", undelivered: ["feeder-down"], restartOnRelease: false),
            owed: [firing])
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(written).write(to: URL(fileURLWithPath: path))
        let read = try #require(SafetyDriver.readRecord(at: path, haltService: "other", now: now, logger: logger))
        #expect(read.hold == written.hold)
        #expect(read.owed == [firing])
    }
}
