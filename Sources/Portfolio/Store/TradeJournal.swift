import Binance
import EventBus
import Foundation
import Logging
import Money
import PostgresNIO
import ServiceKit

/// The portfolio's records in PostgreSQL: what the account held when the portfolio opened,
/// every fill booked (once per venue, symbol and trade id: the journal, from which the ledger is
/// rebuilt exactly at every start), and the periodic snapshots of equity and PnL.
public struct TradeJournal: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The tables, owned by the portfolio service's migrations.
    public static let migrations = [
        Migration(
            version: 1, name: "portfolio journal",
            statements: [
                """
                CREATE TABLE portfolio_opening (
                    asset text PRIMARY KEY, amount numeric NOT NULL, symbol text, price numeric, is_account boolean NOT NULL,
                    opened_at timestamptz NOT NULL)
                """,
                """
                CREATE TABLE portfolio_trades (
                    id bigserial PRIMARY KEY, symbol text NOT NULL, trade_id bigint NOT NULL, client_order_id text NOT NULL,
                    side text NOT NULL, quantity numeric NOT NULL, price numeric NOT NULL, commission numeric NOT NULL,
                    commission_asset text NOT NULL, time timestamptz NOT NULL, UNIQUE (symbol, trade_id))
                """,
                """
                CREATE TABLE portfolio_snapshots (
                    time timestamptz PRIMARY KEY, equity numeric NOT NULL, cash numeric NOT NULL, realized numeric NOT NULL,
                    unrealized numeric NOT NULL, fees numeric NOT NULL, exposure numeric NOT NULL, peak numeric NOT NULL,
                    drawdown numeric NOT NULL, day_pnl numeric NOT NULL, week_pnl numeric NOT NULL, month_pnl numeric NOT NULL)
                """,
            ]),
        Migration(
            version: 2, name: "portfolio journal: fills keyed by venue (trade ids are each venue's own)",
            statements: [
                "ALTER TABLE portfolio_trades ADD COLUMN venue text NOT NULL DEFAULT 'binance'",
                "ALTER TABLE portfolio_trades DROP CONSTRAINT portfolio_trades_symbol_trade_id_key",
                "ALTER TABLE portfolio_trades ADD CONSTRAINT portfolio_trades_venue_symbol_trade_id_key UNIQUE (venue, symbol, trade_id)",
            ]),
        Migration(
            version: 3, name: "portfolio opening per venue (a venue added later opens from its balances then)",
            statements: [
                "ALTER TABLE portfolio_opening ADD COLUMN venue text NOT NULL DEFAULT 'binance'",
                "ALTER TABLE portfolio_opening DROP CONSTRAINT portfolio_opening_pkey",
                "ALTER TABLE portfolio_opening ADD PRIMARY KEY (venue, asset)",
            ]),
    ]

    /// What the account held at opening: its cash, and holdings of other assets with the
    /// symbol and price they were valued at.
    public struct Opening: Sendable, Equatable {
        public struct Holding: Sendable, Equatable {
            public var asset: String
            public var symbol: String
            public var quantity: FixedDecimal
            public var price: Price
        }

        public var account: String
        public var cash: FixedDecimal
        public var holdings: [Holding]
        public var openedAt: Date
    }

    /// Each venue's opening, as recorded.
    public func openings() async throws -> [TradingVenue: Opening] {
        let rows = try await client.query(
            "SELECT venue, asset, amount::text, symbol, price::text, is_account, opened_at FROM portfolio_opening ORDER BY venue, asset",
            logger: logger)
        var openings: [TradingVenue: Opening] = [:]
        var holdings: [TradingVenue: [Opening.Holding]] = [:]
        for try await (venueName, asset, amount, symbol, price, isAccount, openedAt) in rows.decode(
            (String, String, String, String?, String?, Bool, Date).self)
        {
            guard let venue = TradingVenue(rawValue: venueName) else { throw JournalError(id: 0, reason: "opening venue \(venueName)") }
            let value = try FixedDecimal(parsing: amount)
            if isAccount {
                openings[venue] = Opening(account: asset, cash: value, holdings: [], openedAt: openedAt)
            } else if let symbol, let price {
                holdings[venue, default: []].append(
                    Opening.Holding(asset: asset, symbol: symbol, quantity: value, price: try Price(parsing: price)))
            }
        }
        for (venue, list) in holdings { openings[venue]?.holdings = list }
        return openings
    }

    /// Records a venue's opening, in one transaction, once.
    public func open(_ opening: Opening, venue: TradingVenue) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO portfolio_opening (venue, asset, amount, is_account, opened_at)
                VALUES (\(venue.rawValue), \(opening.account), \(opening.cash.description)::numeric, true, \(opening.openedAt))
                """, logger: logger)
            for holding in opening.holdings {
                try await connection.query(
                    """
                    INSERT INTO portfolio_opening (venue, asset, amount, symbol, price, is_account, opened_at)
                    VALUES (\(venue.rawValue), \(holding.asset), \(holding.quantity.description)::numeric, \(holding.symbol),
                            \(holding.price.description)::numeric, false, \(opening.openedAt))
                    """, logger: logger)
            }
        }
    }

    /// Journals a fill; its journal id, or nil when that trade was journaled already. Returns
    /// once committed (a transaction of its own, see `docs/decisions.md`): the fill's event is
    /// acknowledged only after.
    public func record(_ fill: LedgerFill) async throws -> Int64? {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO portfolio_trades (venue, symbol, trade_id, client_order_id, side, quantity, price, commission,
                                              commission_asset, time)
                VALUES (\(fill.venue.rawValue), \(fill.symbol), \(fill.tradeId), \(fill.clientOrderId), \(fill.side.rawValue),
                        \(fill.quantity.description)::numeric, \(fill.price.description)::numeric,
                        \(fill.commission.description)::numeric, \(fill.commissionAsset), \(fill.time))
                ON CONFLICT (venue, symbol, trade_id) DO NOTHING RETURNING id
                """, logger: logger
            ).collect().first?.decode(Int64.self)
        }
    }

    /// Journaled fills after journal id `after`, oldest first, at most `limit`, with their ids.
    public func trades(after: Int64, limit: Int) async throws -> [(id: Int64, fill: LedgerFill)] {
        try await read(
            client.query(
                "SELECT \(unescaped: Self.columns) FROM portfolio_trades WHERE id > \(after) ORDER BY id LIMIT \(limit)", logger: logger))
    }

    /// The newest fills first, before journal id `before` (paging), at most `limit`.
    public func history(before: Int64?, limit: Int) async throws -> [(id: Int64, fill: LedgerFill)] {
        try await read(
            client.query(
                """
                SELECT \(unescaped: Self.columns) FROM portfolio_trades WHERE id < \(before ?? Int64.max) ORDER BY id DESC LIMIT \(limit)
                """, logger: logger))
    }

    private static let columns =
        "id, symbol, trade_id, client_order_id, side, quantity::text, price::text, commission::text, commission_asset, time, venue"

    private func read(_ rows: PostgresRowSequence) async throws -> [(id: Int64, fill: LedgerFill)] {
        var result: [(id: Int64, fill: LedgerFill)] = []
        for try await (id, symbol, tradeId, clientOrderId, side, quantity, price, commission, asset, time, venue) in rows.decode(
            (Int64, String, Int64, String, String, String, String, String, String, Date, String).self)
        {
            guard let side = OrderSide(rawValue: side) else { throw JournalError(id: id, reason: "side \(side)") }
            guard let venue = TradingVenue(rawValue: venue) else { throw JournalError(id: id, reason: "venue \(venue)") }
            do {
                result.append(
                    (
                        id,
                        LedgerFill(
                            symbol: symbol, side: side, quantity: try Quantity(parsing: quantity), price: try Price(parsing: price),
                            commission: try FixedDecimal(parsing: commission), commissionAsset: asset, tradeId: tradeId,
                            clientOrderId: clientOrderId, time: time, venue: venue)
                    ))
            } catch {
                throw JournalError(id: id, reason: "\(error)")
            }
        }
        return result
    }

    /// A snapshot of the account.
    public struct Snapshot: Sendable, Equatable {
        public var time: Date
        public var equity, cash, realized, unrealized, fees, exposure, peak, drawdown, day, week, month: FixedDecimal
    }

    public func write(_ snapshot: Snapshot) async throws {
        let s = snapshot
        try await client.query(
            """
            INSERT INTO portfolio_snapshots (time, equity, cash, realized, unrealized, fees, exposure, peak, drawdown, day_pnl, week_pnl,
                                             month_pnl)
            VALUES (\(s.time), \(s.equity.description)::numeric, \(s.cash.description)::numeric, \(s.realized.description)::numeric,
                    \(s.unrealized.description)::numeric, \(s.fees.description)::numeric, \(s.exposure.description)::numeric,
                    \(s.peak.description)::numeric, \(s.drawdown.description)::numeric, \(s.day.description)::numeric,
                    \(s.week.description)::numeric, \(s.month.description)::numeric)
            ON CONFLICT (time) DO NOTHING
            """, logger: logger)
    }

    /// The newest `limit` snapshots' equity, drawdown and day PnL, oldest first (the
    /// dashboard's charts).
    public func equityHistory(limit: Int) async throws -> [(time: Date, equity: String, drawdown: String, dayPnl: String)] {
        let rows = try await client.query(
            """
            SELECT time, equity::text, drawdown::text, day_pnl::text FROM (
                SELECT time, equity, drawdown, day_pnl FROM portfolio_snapshots ORDER BY time DESC LIMIT \(limit)) newest
            ORDER BY time
            """, logger: logger)
        var history: [(time: Date, equity: String, drawdown: String, dayPnl: String)] = []
        for try await (time, equity, drawdown, day) in rows.decode((Date, String, String, String).self) {
            history.append((time, equity, drawdown, day))
        }
        return history
    }

    /// Deletes snapshots older than `before`.
    public func prune(before: Date) async throws {
        try await client.query("DELETE FROM portfolio_snapshots WHERE time < \(before)", logger: logger)
    }
}

/// A journal row that does not read back.
public struct JournalError: Error, CustomStringConvertible {
    public var id: Int64
    public var reason: String
    public var description: String { "portfolio_trades row \(id): \(reason)" }
}
