import Binance
import EventBus
import Foundation
import Logging
import Money
import RedisClient
import Synchronization
import Testing
import VaktConfig
import VaktTesting

@testable import MarketData

/// Closed klines reach the bus only in order: a gap is backfilled first (those klines marked
/// backfilled), one that cannot be is reported on the next kline (`afterGap`), a repeat is
/// dropped. Against a real Redis; the exchange's klines are a list the fetch pages through.
@Suite struct KlineGateTests {
    static let series = KlineContinuity.Series(symbol: "BTCUSDT", interval: "1m")

    static func kline(_ minute: Int64) -> Kline {
        Kline(
            openTime: minute * 60_000, open: Price(Int(100 + minute)), high: Price(Int(101 + minute)), low: Price(Int(99 + minute)),
            close: Price(Int(100 + minute)), volume: Quantity(1), closeTime: minute * 60_000 + 59_999, trades: 1)
    }

    struct Bus {
        let redis: RedisServer
        let publisher: EventPublisher

        init() async throws {
            redis = try RedisServer()
            try await redis.start()
            let directory = try TestEnvironment.temporaryDirectory("vakt-gate")
            publisher = try await EventPublisher(
                redis: RedisConnection(endpoint: redis.endpoint),
                settings: EventBusSettings(bufferPath: directory.appendingPathComponent("buffer.sqlite").path),
                logger: Logger(label: "test.gate"))
        }

        /// The closed klines on the bus, oldest first.
        func klines() async throws -> [MarketKline] {
            try await EventStreamInspector(redis: RedisConnection(endpoint: redis.endpoint))
                .range(.marketKline, from: "-", to: "+", limit: 10_000)
                .map { entry in
                    let envelope = try EventEnvelope.decode(Array(entry.envelope.utf8), maximumBytes: 1 << 20)
                    return try MarketKline(json: envelope.payload)
                }
        }
    }

    final class Calls: Sendable {
        let count = Mutex(0)
    }

    /// An exchange holding `minutes`: the fetch answers as Binance's klines do.
    static func exchange(_ minutes: [Int64], calls: Calls = Calls()) -> KlineGate.Fetch {
        let klines = minutes.map(kline)
        return { _, from, until, limit in
            calls.count.withLock { $0 += 1 }
            let inRange = klines.filter { kline in kline.openTime < until && (from.map { kline.closeTime >= $0 } ?? true) }
            return from == nil ? Array(inRange.suffix(limit)) : Array(inRange.prefix(limit))
        }
    }

    @Test func aGapIsBackfilledInOrderBeforeTheKlineThatRevealedIt() async throws {
        let bus = try await Bus()
        defer { bus.redis.stop() }
        let calls = Calls()
        let gate = KlineGate(
            events: bus.publisher, writer: nil, fetch: Self.exchange(Array(0..<3_000), calls: calls), backfillLimit: 5_000,
            logger: Logger(label: "test.gate"))
        await gate.closed(Self.kline(10), series: Self.series)
        await gate.closed(Self.kline(11), series: Self.series)
        // The stream was cut for 2,500 minutes: three pages of the exchange's klines.
        await gate.closed(Self.kline(2_512), series: Self.series)
        await gate.closed(Self.kline(2_512), series: Self.series)
        await gate.closed(Self.kline(2_000), series: Self.series)
        await gate.closed(Self.kline(2_513), series: Self.series)
        let klines = try await bus.klines()
        #expect(klines.map { Int64($0.openTime.timeIntervalSince1970) / 60 } == Array(10...2_513))
        #expect(klines.filter(\.backfilled).count == 2_500)
        #expect(!klines.contains { $0.afterGap })
        #expect(calls.count.withLock { $0 } == 3)
        #expect(klines.first { $0.openTime == Date(timeIntervalSince1970: 1_000 * 60) }?.close == Price(1_100))
    }

    @Test func aGapTheExchangeCannotFillIsReportedOnTheNextKline() async throws {
        let bus = try await Bus()
        defer { bus.redis.stop() }
        // The exchange lacks minutes 20 to 24; the limit stops a gap longer than 50.
        let gate = KlineGate(
            events: bus.publisher, writer: nil, fetch: Self.exchange(Array(0..<20) + Array(25..<200)), backfillLimit: 50,
            logger: Logger(label: "test.gate"))
        await gate.closed(Self.kline(15), series: Self.series)
        await gate.closed(Self.kline(30), series: Self.series)
        await gate.closed(Self.kline(31), series: Self.series)
        await gate.closed(Self.kline(150), series: Self.series)
        let klines = try await bus.klines()
        let minutes = klines.map { Int64($0.openTime.timeIntervalSince1970) / 60 }
        // 16 to 19 filled; 20 to 29 not (the exchange resumes at 25, which does not continue
        // the series at 20); 32 to 81 filled (the limit), the rest not.
        #expect(minutes == Array(15...19) + [30, 31] + Array(32...81) + [150])
        #expect(klines.filter(\.afterGap).map { Int64($0.openTime.timeIntervalSince1970) / 60 } == [30, 150])
    }

    @Test func atStartASeriesCatchesUpFromTheHistoryOrTheExchangesRecentKlines() async throws {
        let bus = try await Bus()
        defer { bus.redis.stop() }
        let gate = KlineGate(
            events: bus.publisher, writer: nil, fetch: Self.exchange(Array(0..<100)), backfillLimit: 1_000,
            logger: Logger(label: "test.gate"))
        let other = KlineContinuity.Series(symbol: "ETHUSDT", interval: "1m")
        gate.resume(Self.series, after: Self.kline(89).closeTime)
        // Minute 99 is still open at 99:30.
        await gate.catchUp(Self.series, now: 99 * 60_000 + 30_000, recent: 20)
        await gate.catchUp(other, now: 99 * 60_000 + 30_000, recent: 20)
        let klines = try await bus.klines()
        let minutes: (String) -> [Int64] = { symbol in
            klines.filter { $0.symbol == symbol }.map { Int64($0.openTime.timeIntervalSince1970) / 60 }
        }
        #expect(minutes("BTCUSDT") == Array(90...98))
        #expect(minutes("ETHUSDT") == Array(79...98))
        #expect(klines.allSatisfy { $0.backfilled })
        #expect(gate.expected(Self.series) == Int64(99 * 60_000))
    }
}
