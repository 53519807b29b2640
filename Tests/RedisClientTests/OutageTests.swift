import RedisClient
import Testing

@Suite struct OutageTests {
    @Test func anOutageIsNewsOnceWhenItBeginsAndOnceWhenItEnds() {
        let start = ContinuousClock.now
        var outage = Outage()
        func failed(at second: Int) -> Bool { outage.failed(at: start + .seconds(second)) }
        func succeeded(at second: Int) -> (failedAttempts: Int, lasted: Duration)? { outage.succeeded(at: start + .seconds(second)) }

        #expect(succeeded(at: 0) == nil, "nothing to report while things work")
        #expect(failed(at: 0))
        for second in 1...49 {
            #expect(!failed(at: second), "attempt \(second + 1) is only counted")
        }
        #expect(outage.failedAttempts == 50)
        let ended = succeeded(at: 60)
        #expect(ended?.failedAttempts == 50)
        #expect(ended?.lasted == .seconds(60))
        #expect(succeeded(at: 61) == nil)
        #expect(failed(at: 70), "a new outage is news again")
        #expect(outage.since == start + .seconds(70))
    }
}
