import Binance
import Logging
import Money
import PostgresNIO

/// Closed klines in PostgreSQL (`market_klines`), one row per symbol, interval and open time:
/// written by the market-data service as they close (and as gaps are backfilled), read by the
/// AI engine and training for history. Prices and volumes are `numeric`, exact, written and
/// read as decimal text.
public struct KlineHistory: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The table, owned by the market-data service's migrations.
    public static let migrations = [
        Migration(
            version: 1, name: "kline history",
            statements: [
                """
                CREATE TABLE market_klines (
                    symbol text NOT NULL, interval text NOT NULL, open_time bigint NOT NULL, close_time bigint NOT NULL,
                    open numeric NOT NULL, high numeric NOT NULL, low numeric NOT NULL, close numeric NOT NULL,
                    volume numeric NOT NULL, trades integer NOT NULL,
                    PRIMARY KEY (symbol, interval, open_time))
                """,
                "CREATE INDEX market_klines_close_time ON market_klines (close_time)",
            ])
    ]

    /// Stores klines of one series; a kline already stored (same open time) is left as it is.
    public func store(_ klines: [Kline], symbol: String, interval: String) async throws {
        guard !klines.isEmpty else { return }
        // One statement of arrays (unnest), so a backfill of a thousand klines is one round trip.
        try await client.query(
            """
            INSERT INTO market_klines (symbol, interval, open_time, close_time, open, high, low, close, volume, trades)
            SELECT \(symbol), \(interval), * FROM unnest(
                \(klines.map(\.openTime))::bigint[], \(klines.map(\.closeTime))::bigint[],
                \(klines.map { $0.open.description })::numeric[], \(klines.map { $0.high.description })::numeric[],
                \(klines.map { $0.low.description })::numeric[], \(klines.map { $0.close.description })::numeric[],
                \(klines.map { $0.volume.description })::numeric[], \(klines.map { Int32(clamping: $0.trades) })::integer[])
            ON CONFLICT (symbol, interval, open_time) DO NOTHING
            """, logger: logger)
    }

    /// The last stored kline of a series.
    public func latest(symbol: String, interval: String) async throws -> Kline? {
        try await read(
            client.query(
                """
                SELECT \(unescaped: Self.columns) FROM market_klines WHERE symbol = \(symbol) AND interval = \(interval)
                ORDER BY open_time DESC LIMIT 1
                """, logger: logger)
        ).first
    }

    /// The series' klines opening in `from..<until`, oldest first, at most `limit`.
    public func range(symbol: String, interval: String, from: Int64, until: Int64, limit: Int) async throws -> [Kline] {
        try await read(
            client.query(
                """
                SELECT \(unescaped: Self.columns) FROM market_klines WHERE symbol = \(symbol) AND interval = \(interval)
                AND open_time >= \(from) AND open_time < \(until) ORDER BY open_time LIMIT \(limit)
                """, logger: logger))
    }

    /// The series' last `count` klines, oldest first.
    public func last(_ count: Int, symbol: String, interval: String) async throws -> [Kline] {
        try await read(
            client.query(
                """
                SELECT \(unescaped: Self.columns) FROM market_klines WHERE symbol = \(symbol) AND interval = \(interval)
                ORDER BY open_time DESC LIMIT \(count)
                """, logger: logger)
        ).reversed()
    }

    /// Deletes the klines that closed before `before` (ms); answers how many.
    @discardableResult
    public func prune(closedBefore before: Int64) async throws -> Int {
        let rows = try await client.query(
            "WITH gone AS (DELETE FROM market_klines WHERE close_time < \(before) RETURNING 1) SELECT count(*) FROM gone",
            logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    private static let columns = "open_time, close_time, open::text, high::text, low::text, close::text, volume::text, trades"

    private func read(_ rows: PostgresRowSequence) async throws -> [Kline] {
        var klines: [Kline] = []
        for try await (openTime, closeTime, open, high, low, close, volume, trades) in rows.decode(
            (Int64, Int64, String, String, String, String, String, Int32).self)
        {
            do {
                klines.append(
                    Kline(
                        openTime: openTime, open: try Price(parsing: open), high: try Price(parsing: high), low: try Price(parsing: low),
                        close: try Price(parsing: close), volume: try Quantity(parsing: volume), closeTime: closeTime,
                        trades: Int(trades)))
            } catch {
                throw StoredKlineError(openTime: openTime, reason: "\(error)")
            }
        }
        return klines
    }
}

/// A stored kline that does not read back as exact amounts.
public struct StoredKlineError: Error, CustomStringConvertible {
    public var openTime: Int64
    public var reason: String
    public var description: String { "market_klines row opening at \(openTime): \(reason)" }
}
