import EventBus
import Foundation
import RedisClient
import Synchronization
import Testing
import VaktTesting

/// Burrow-style verdicts: one synthetic window per rule, then a real consumer stopped and resumed.
@Suite struct LagVerdictTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func window(_ readings: [(lag: Int, pending: Int, read: Int)], idle: Duration? = .milliseconds(200)) -> [LagSample] {
        readings.enumerated().map { index, reading in
            LagSample(
                at: start + Double(index) * 5, lag: reading.lag, pending: reading.pending, entriesRead: reading.read,
                lastDeliveredID: "\(reading.read)-0", consumerIdle: idle)
        }
    }

    static func verdict(_ window: [LagSample]) -> LagVerdict {
        LagVerdict.evaluate(window, size: 4, stoppedAfter: .seconds(60))
    }

    @Test func keepingUpIsOK() {
        let verdict = Self.verdict(Self.window([(5, 1, 100), (2, 0, 110), (7, 2, 120), (0, 0, 140)]))
        #expect(verdict == LagVerdict(status: .ok, reason: "backlog 0"))
    }

    @Test func aBacklogThatNeverShrinksAndGrowsIsWARN() {
        let verdict = Self.verdict(Self.window([(5, 1, 100), (6, 1, 105), (6, 1, 110), (9, 2, 115)]))
        #expect(verdict == LagVerdict(status: .warn, reason: "backlog grew from 6 to 11 and never decreased"))
        // The same with one dip is not a trend.
        #expect(Self.verdict(Self.window([(5, 1, 100), (6, 1, 105), (4, 1, 110), (9, 2, 115)])).status == .ok)
    }

    @Test func consumersPresentButNotMovingIsSTALL() {
        let verdict = Self.verdict(Self.window([(8, 2, 100), (8, 2, 100), (9, 2, 100), (12, 2, 100)]))
        #expect(verdict == LagVerdict(status: .stall, reason: "no progress across 4 readings with 14 entries waiting"))
    }

    @Test func consumersThatStoppedAskingIsSTOP() {
        let idle = Self.verdict(Self.window([(3, 0, 100), (4, 0, 100)], idle: .seconds(90)))
        #expect(idle == LagVerdict(status: .stop, reason: "4 entries waiting and consumers idle for 90 s"))
        let gone = Self.verdict(Self.window([(3, 0, 100)], idle: nil))
        #expect(gone == LagVerdict(status: .stop, reason: "3 entries waiting and no consumers"))
        // Idle with nothing to do is fine.
        #expect(Self.verdict(Self.window([(0, 0, 100)], idle: .seconds(900))).status == .ok)
    }

    @Test func unreadableIsERR() {
        #expect(LagVerdict.evaluate([], size: 4, stoppedAfter: .seconds(60)) == LagVerdict(status: .err, reason: "no readings"))
        let failed = LagVerdict.evaluate(Self.window([(0, 0, 1)]), size: 4, stoppedAfter: .seconds(60), error: "cannot read market.tick")
        #expect(failed == LagVerdict(status: .err, reason: "cannot read market.tick"))
    }

    @Test func aRealConsumerStoppedAndResumedGoesSTOPThenOK() async throws {
        let bus = try await BusFixture()
        defer { bus.redis.stop() }
        let settings = bus.settings()
        let handled = Counter()
        var consumer = bus.consume([.orderFilled], settings: settings) { _ in handled.add() }
        #expect(await bus.waitForGroup(.orderFilled))
        let publisher = try await bus.publisher(settings)
        try await publisher.publish((0..<5).map { event(.orderFilled, $0) })
        #expect(await TestEnvironment.eventually { handled.value == 5 })

        let monitor = ConsumerLagMonitor(
            redis: RedisConnection(endpoint: bus.redis.endpoint), windowSize: 3, stoppedAfter: .milliseconds(600),
            streams: [EventType.orderFilled.stream])
        // Eventually: on a loaded machine the last acknowledgement may still be on its way, and a
        // consumer busy with its batch for longer than 600 ms with it pending reads as stopped.
        #expect(
            await TestEnvironment.eventually {
                await monitor.sample()
                return monitor.groups.first?.verdict.status == .ok
            }, "\(monitor.groups)")

        // Stopped for good before the next events: a read still blocking in Redis would take
        // them for a consumer of the same name running beside its successor.
        consumer.cancel()
        await consumer.value
        try await publisher.publish((5..<12).map { event(.orderFilled, $0) })
        #expect(
            await TestEnvironment.eventually {
                await monitor.sample()
                return monitor.groups.first?.verdict.status == .stop
            })
        #expect(monitor.groups.first?.verdict.reason.contains("entries waiting and consumers idle for") == true, "\(monitor.groups)")

        consumer = bus.consume([.orderFilled], settings: settings) { _ in handled.add() }
        defer { consumer.cancel() }
        #expect(await TestEnvironment.eventually { handled.value == 12 })
        #expect(
            await TestEnvironment.eventually {
                await monitor.sample()
                return monitor.groups.first?.verdict == LagVerdict(status: .ok, reason: "backlog 0")
            })
    }
}

/// A thread-safe count for handlers.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
