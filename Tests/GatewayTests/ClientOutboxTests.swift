import Testing
import VaktTesting

@testable import Gateway

/// The fan-out's pure core against a simple reading of its rules, on an injected clock.
@Suite struct ClientOutboxTests {
    static let limits = ClientOutbox.Limits(batchWindow: .milliseconds(10), maxMessagesPerSecond: 50, capacity: 100)
    let start = ContinuousClock.now

    func message(_ sequence: UInt64, topic: String = "position.updated", key: String) -> FanoutMessage {
        FanoutMessage(sequence: sequence, topic: topic, key: key, frame: "{\"seq\":\(sequence)}")
    }

    @Test func anUpdateWaitsOneWindowThenLeavesWithThoseThatJoinedIt() {
        var outbox = ClientOutbox(limits: Self.limits, topics: ["position.updated"])
        #expect(outbox.offer(message(1, key: "BTCUSDT"), at: start) == .queued)
        #expect(outbox.offer(message(2, key: "ETHUSDT"), at: start + .milliseconds(4)) == .queued)
        #expect(outbox.takeBatch(at: start + .milliseconds(9)) == nil)
        #expect(outbox.nextSendAt == start + .milliseconds(10))
        #expect(outbox.takeBatch(at: start + .milliseconds(10))?.map(\.sequence) == [1, 2])
        #expect(outbox.nextSendAt == nil)
        #expect(outbox.takeBatch(at: start + .seconds(1)) == nil)
    }

    @Test func aBurstOfOneKeyArrivesAsItsFinalValue() {
        var outbox = ClientOutbox(limits: Self.limits, topics: ["position.updated"])
        #expect(outbox.offer(message(1, key: "BTCUSDT"), at: start) == .queued)
        for sequence in 2...1_000 { #expect(outbox.offer(message(UInt64(sequence), key: "BTCUSDT"), at: start) == .coalesced) }
        let batch = outbox.takeBatch(at: start + .milliseconds(10))
        #expect(batch?.map(\.sequence) == [1_000])
    }

    @Test func topicsNotSubscribedAreIgnoredAndUnsubscribingDropsWhatWaits() {
        var outbox = ClientOutbox(limits: Self.limits, topics: ["position.updated"])
        #expect(outbox.offer(message(1, topic: "market.tick", key: "BTCUSDT"), at: start) == .ignored)
        outbox.subscribe(["market.tick"])
        #expect(outbox.offer(message(2, topic: "market.tick", key: "BTCUSDT"), at: start) == .queued)
        #expect(outbox.offer(message(3, key: "BTCUSDT"), at: start) == .queued)
        outbox.unsubscribe(["market.tick"])
        #expect(outbox.takeBatch(at: start + .seconds(1))?.map(\.sequence) == [3])
    }

    @Test func pastItsCapacityTheClientOverflows() {
        var outbox = ClientOutbox(limits: Self.limits, topics: ["order.filled"])
        for sequence in 1...100 {
            #expect(outbox.offer(message(UInt64(sequence), topic: "order.filled", key: "o\(sequence)"), at: start) == .queued)
        }
        // A waiting key is still replaced; a new one is one too many.
        #expect(outbox.offer(message(101, topic: "order.filled", key: "o1"), at: start) == .coalesced)
        #expect(outbox.offer(message(102, topic: "order.filled", key: "o101"), at: start) == .overflow)
    }

    /// Offered updates at random times over 20 simulated seconds, taken as soon as allowed: no
    /// second (any window [t, t + 1 s)) holds more than 50 batches, no update waits past its
    /// window unless the rate holds it, and every key's last value is delivered last.
    @Test func noSecondHoldsMoreThanTheLimitAndEveryKeyEndsOnItsLastValue() {
        var outbox = ClientOutbox(limits: Self.limits, topics: ["position.updated"])
        var random = SplitMix64(seed: 7)
        var sentAt: [Duration] = []
        var delivered: [String: UInt64] = [:]
        var last: [String: UInt64] = [:]
        var now = Duration.zero
        var sequence: UInt64 = 0
        while now < .seconds(20) {
            now += .microseconds(Int64(random.next() % 2_000))
            while let due = outbox.nextSendAt, due <= start + now {
                let batch = outbox.takeBatch(at: due)!
                sentAt.append(due - start)
                for item in batch { delivered[item.key] = item.sequence }
            }
            sequence += 1
            let key = "S\(random.next() % 50)"
            last[key] = sequence
            _ = outbox.offer(message(sequence, key: key), at: start + now)
        }
        while let due = outbox.nextSendAt {
            for item in outbox.takeBatch(at: due)! { delivered[item.key] = item.sequence }
            sentAt.append(due - start)
        }
        var windowStart = 0
        for (index, time) in sentAt.enumerated() {
            while sentAt[windowStart] <= time - .seconds(1) { windowStart += 1 }
            #expect(index - windowStart + 1 <= 50, "\(index - windowStart + 1) batches in the second before \(time)")
        }
        #expect(sentAt.count > 900, "the limit was reached: \(sentAt.count) batches in 20 s")
        #expect(delivered == last)
    }

    @Test func latestValuesGiveWhatChangedSinceASequenceOrSayItWasForgotten() {
        var latest = LatestValues(capacity: 3)
        for (sequence, key) in [(1, "A"), (2, "B"), (3, "A"), (4, "C")] { latest.record(message(UInt64(sequence), key: key)) }
        #expect(latest.since(0)?.map(\.sequence) == [2, 3, 4])
        #expect(latest.since(2)?.map(\.sequence) == [3, 4])
        #expect(latest.since(4)?.isEmpty == true)
        latest.record(message(5, key: "D"))  // B (2) is forgotten
        #expect(latest.since(1) == nil)
        #expect(latest.since(2)?.map(\.sequence) == [3, 4, 5])
        // Many updates of few keys keep the memory to the keys.
        for sequence in 6...20_000 { latest.record(message(UInt64(sequence), key: ["A", "C", "D"][sequence % 3])) }
        #expect(latest.values.count == 3)
        #expect(latest.since(19_997)?.map(\.sequence) == [19_998, 19_999, 20_000])
    }
}

@Suite struct FrameBudgetTests {
    @Test func slotsAreSpacedByTheBudgetAndNeverInThePast() {
        let start = ContinuousClock.now
        var budget = FrameBudget(framesPerSecond: 1_000)
        #expect(budget.reserve(at: start) == start)
        #expect(budget.reserve(at: start) == start + .milliseconds(1))
        #expect(budget.reserve(at: start) == start + .milliseconds(2))
        // Idle for a while: the next asker goes at once.
        #expect(budget.reserve(at: start + .seconds(1)) == start + .seconds(1))
        // A thousand at once are spread over one second.
        var last = start
        for _ in 0..<1_000 { last = budget.reserve(at: start + .seconds(2)) }
        #expect(last == start + .seconds(2) + .milliseconds(999))
    }
}
