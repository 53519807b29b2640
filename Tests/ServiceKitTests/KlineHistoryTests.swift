import Binance
import Logging
import Money
import PostgresNIO
import ServiceKit
import Testing
import VaktTesting

/// The kline history against a real PostgreSQL: exact amounts in and out, a kline stored once,
/// the reads the engine and training use, and retention.
@Suite struct KlineHistoryTests {
    static func kline(_ minute: Int64, close: String) throws -> Kline {
        Kline(
            openTime: minute * 60_000, open: try Price(parsing: "100.12345678"), high: try Price(parsing: "200"),
            low: try Price(parsing: "0.00000001"), close: try Price(parsing: close), volume: try Quantity(parsing: "1.5"),
            closeTime: minute * 60_000 + 59_999, trades: Int(minute))
    }

    @Test func klinesReadBackExactlyOnceInOrderAndRetentionPrunes() async throws {
        try await MigrationRunnerTests.withDatabase { client in
            let logger = Logger(label: "test.history")
            _ = try await MigrationRunner(service: "market-data", migrations: KlineHistory.migrations, client: client, logger: logger).run()
            let history = KlineHistory(client: client, logger: logger)
            let klines = try (0..<10).map { try Self.kline($0, close: "123.45678901") }
            try await history.store(klines, symbol: "BTCUSDT", interval: "1m")
            // Stored again (a backfill overlapping the stream): nothing changes.
            try await history.store([try Self.kline(3, close: "999")], symbol: "BTCUSDT", interval: "1m")
            try await history.store([try Self.kline(5, close: "1")], symbol: "ETHUSDT", interval: "1m")
            #expect(try await history.latest(symbol: "BTCUSDT", interval: "1m") == klines.last)
            #expect(
                try await history.range(symbol: "BTCUSDT", interval: "1m", from: 2 * 60_000, until: 5 * 60_000, limit: 10)
                    == Array(klines[2..<5]))
            #expect(try await history.last(3, symbol: "BTCUSDT", interval: "1m") == Array(klines.suffix(3)))
            #expect(try await history.latest(symbol: "BTCUSDT", interval: "1s") == nil)
            // Everything closed before minute 4 goes.
            #expect(try await history.prune(closedBefore: 4 * 60_000) == 4)
            #expect(try await history.last(100, symbol: "BTCUSDT", interval: "1m").map(\.openTime) == (4..<10).map { $0 * 60_000 })
            #expect(try await history.last(100, symbol: "ETHUSDT", interval: "1m").count == 1)
        }
    }
}
