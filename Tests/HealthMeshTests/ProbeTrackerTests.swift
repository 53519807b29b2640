import Foundation
import HealthFormat
import HealthMesh
import Testing
import VaktConfig

@Suite struct ProbeTrackerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let settings = ProbeSettings(
        interval: .seconds(1), timeout: .milliseconds(500), failureThreshold: 3, successThreshold: 2, startGrace: .seconds(10),
        maxBodyBytes: 1024)
    let fail = ProbeResult.failure(.timeout, latency: .milliseconds(500), detail: "no answer within 500 ms")
    let pass = ProbeResult.success(.pass, latency: .milliseconds(2), output: nil)

    @Test func failuresInsideTheStartGraceAreNotCounted() {
        var tracker = ProbeTracker(settings: settings, startedAt: start)
        for second in 0..<9 {
            #expect(tracker.record(fail, at: start + Double(second)) == nil)
        }
        #expect(tracker.status == nil)
        // Past the grace, the failures already seen count: the threshold is reached at once.
        let transition = tracker.record(fail, at: start + 10)
        #expect(transition?.to == .fail)
        #expect(tracker.lastError == "timeout: no answer within 500 ms")
    }

    @Test func failingTakesTheFailureThresholdAndRecoveringTheSuccessThreshold() {
        var tracker = ProbeTracker(settings: settings, startedAt: start - 60)
        #expect(tracker.record(pass, at: start)?.to == .pass)
        #expect(tracker.record(fail, at: start + 1) == nil)
        #expect(tracker.record(fail, at: start + 2) == nil)
        #expect(tracker.record(pass, at: start + 3) == nil, "a success in between starts the count again")
        #expect(tracker.record(fail, at: start + 4) == nil)
        #expect(tracker.record(fail, at: start + 5) == nil)
        #expect(tracker.record(fail, at: start + 6)?.to == .fail)
        #expect(tracker.record(pass, at: start + 7) == nil, "one success is not enough after a failure")
        #expect(tracker.status == .fail)
        let recovered = tracker.record(pass, at: start + 8)
        #expect(recovered?.from == .fail && recovered?.to == .pass)
    }

    @Test func aRestartForgetsTheVerdictAndStartsANewGrace() {
        var tracker = ProbeTracker(settings: settings, startedAt: start - 60)
        for second in 0..<3 { tracker.record(fail, at: start + Double(second)) }
        #expect(tracker.status == .fail)
        tracker.restarted(at: start + 5)
        #expect(tracker.status == nil)
        for second in 5..<10 { tracker.record(fail, at: start + Double(second)) }
        #expect(tracker.status == nil)
    }

    @Test func aDegradedAnswerWarnsWithItsReason() {
        var tracker = ProbeTracker(settings: settings, startedAt: start - 60)
        let transition = tracker.record(.success(.warn, latency: .milliseconds(3), output: "policy:age warn: 11 minutes old"), at: start)
        #expect(transition?.to == .warn)
        #expect(transition?.reason == "policy:age warn: 11 minutes old")
    }

    @Test func aLivenessRestartIsClaimedOnceAfterTheLimitOutsideTheGrace() {
        var tracker = ProbeTracker(settings: settings, startedAt: start)
        func claim(at second: Double) -> Bool { tracker.claimLivenessRestart(limit: 5, at: start + second) }
        for second in 0..<9 { tracker.record(fail, at: start + Double(second)) }
        #expect(!claim(at: 9), "not inside the start grace")
        tracker.record(fail, at: start + 10)
        #expect(claim(at: 10))
        #expect(!claim(at: 10), "asked for once")
        // The restart is under way: a new grace, and the count starts again.
        for second in 11..<25 { tracker.record(fail, at: start + Double(second)) }
        #expect(!claim(at: 19))
        #expect(claim(at: 24))
        // A success in between starts the count again.
        tracker.record(pass, at: start + 40)
        for second in 41..<45 { tracker.record(fail, at: start + Double(second)) }
        #expect(!claim(at: 44))
        tracker.record(fail, at: start + 45)
        #expect(claim(at: 45))
    }
}
