import EventBus
import Execution
import Foundation
import Money
import Testing
import VaktTesting

/// The signal queue's policy (a newer signal replaces its symbol's, the expired go, then the
/// least confident) and its accounting identity, at every step of random floods.
@Suite struct SignalQueueTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func entry(_ id: Int, _ symbol: String, confidence: Int, expiresIn: TimeInterval? = 30, at now: Date = now)
        -> SignalQueue.Entry
    {
        SignalQueue.Entry(
            id: "e\(id)",
            signal: SignalGenerated(
                symbol: symbol, side: .buy, confidence: FixedDecimal(confidence, scale: 2), model: "m", referencePrice: Price(100),
                reason: "test", expiresAt: expiresIn.map { now.addingTimeInterval($0) }),
            receivedAt: now)
    }

    @Test func aNewerSignalReplacesItsSymbolsAndTheLeastConfidentGoesWhenFull() {
        var queue = SignalQueue(capacity: 2)
        queue.offer(Self.entry(1, "AAAUSDT", confidence: 60), now: Self.now)
        let replaced = queue.offer(Self.entry(2, "AAAUSDT", confidence: 50), now: Self.now)
        #expect(replaced.map(\.0.id) == ["e1"] && replaced.map(\.1) == [.replaced])
        queue.offer(Self.entry(3, "BBBUSDT", confidence: 70), now: Self.now)
        // Full: the newcomer is more confident than AAA's 0.50, which goes.
        let overflow = queue.offer(Self.entry(4, "CCCUSDT", confidence: 55), now: Self.now)
        #expect(overflow.map(\.0.id) == ["e2"] && overflow.map(\.1) == [.overflow])
        // Full again: a newcomer less confident than all goes itself.
        let refused = queue.offer(Self.entry(5, "DDDUSDT", confidence: 10), now: Self.now)
        #expect(refused.map(\.0.id) == ["e5"])
        #expect(queue.waiting.map(\.id) == ["e3", "e4"])
        #expect(queue.counts.dropped == [.replaced: 1, .overflow: 2] && queue.counts.balances)
    }

    @Test func expiredSignalsAreDroppedOnArrivalAndWhenTheirTurnComes() {
        var queue = SignalQueue(capacity: 10)
        #expect(queue.offer(Self.entry(1, "AAAUSDT", confidence: 90, expiresIn: 0), now: Self.now).map(\.1) == [.expired])
        queue.offer(Self.entry(2, "BBBUSDT", confidence: 90, expiresIn: 5), now: Self.now)
        queue.offer(Self.entry(3, "CCCUSDT", confidence: 90, expiresIn: nil), now: Self.now)
        let taken = queue.next(now: Self.now.addingTimeInterval(6))
        #expect(taken.entry?.id == "e3" && taken.expired.map(\.id) == ["e2"])
        #expect(queue.counts.queued == 1 && queue.counts.balances)
        queue.finish(executed: true)
        let counts = queue.counts
        #expect(
            counts.received == 3 && counts.executed == 1 && counts.rejected == 0 && counts.dropped == [.expired: 2] && counts.queued == 0)
    }

    /// A flood of random signals, taken and finished at random: the identity holds at every
    /// step, the queue never passes its bound or holds two signals of a symbol, and what goes
    /// for overflow is never more confident than what stays.
    @Test func theIdentityHoldsAtEveryStepOfARandomFlood() async {
        var random = SplitMix64(seed: 1_802)
        var queue = SignalQueue(capacity: 50)
        var now = Self.now
        var busy = false
        for step in 0..<200_000 {
            // Seconds of pure computation: give the other tests' tasks their turn on the pool.
            if step % 2_000 == 0 { await Task.yield() }
            now += 0.001 * Double(random.next(upTo: 3))
            switch random.next(upTo: 10) {
            case 0...1 where !busy:
                busy = queue.next(now: now).entry != nil
            case 2 where busy:
                queue.finish(executed: random.next(upTo: 2) == 0)
                busy = false
            default:
                let entry = Self.entry(
                    step, "S\(random.next(upTo: 200))USDT", confidence: Int(random.next(upTo: 101)),
                    expiresIn: Double(random.next(upTo: 2_000)) / 1_000, at: now)
                let dropped = queue.offer(entry, now: now)
                for (gone, reason) in dropped where reason == .overflow {
                    #expect(queue.waiting.allSatisfy { $0.signal.confidence >= gone.signal.confidence })
                }
            }
            let counts = queue.counts
            #expect(counts.balances, "step \(step): \(counts)")
            #expect(queue.waiting.count <= 50)
            #expect(Set(queue.waiting.map(\.signal.symbol)).count == queue.waiting.count)
            if !counts.balances { return }
        }
        let counts = queue.counts
        #expect(
            counts.received > 100_000 && counts.droppedTotal > 10_000 && counts.executed > 1_000 && counts.rejected > 1_000, "\(counts)")
        #expect(SignalQueue.DropReason.allCases.allSatisfy { counts.dropped[$0, default: 0] > 100 }, "\(counts)")
    }
}
