import EventBus
import Foundation
import Logging
import Money
import PostgresNIO
import ServiceKit

/// The orders table in PostgreSQL, execution's outbox: an order is written here before it is
/// sent, under the client order id it is sent with, so a retry or a restart finds it and
/// reconciles it with the exchange instead of sending a second one. Fills are recorded once
/// per trade (`order_fills`, keyed by symbol and trade id), in the transaction that writes the
/// order they fill.
public struct OrderStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The tables, owned by the execution service's migrations.
    public static let migrations = [
        Migration(
            version: 1, name: "orders outbox",
            statements: [
                """
                CREATE TABLE orders (
                    client_order_id text PRIMARY KEY, signal_id text NOT NULL,
                    purpose text NOT NULL CHECK (purpose IN ('entry', 'reprice', 'take_profit', 'stop_loss')),
                    parent text REFERENCES orders, symbol text NOT NULL, side text NOT NULL CHECK (side IN ('BUY', 'SELL')),
                    quantity numeric NOT NULL CHECK (quantity > 0), price numeric NOT NULL, reference_price numeric NOT NULL,
                    state text NOT NULL, exchange_order_id bigint, executed numeric NOT NULL DEFAULT 0,
                    cumulative_quote numeric NOT NULL DEFAULT 0, reprices integer NOT NULL DEFAULT 0, reason text,
                    exit_state text NOT NULL DEFAULT 'none', take_profit numeric, stop_loss numeric,
                    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)
                """,
                """
                CREATE INDEX orders_unfinished ON orders (created_at)
                WHERE state NOT IN ('filled', 'canceled', 'rejected', 'expired') OR exit_state = 'armed'
                """,
                "CREATE INDEX orders_created ON orders (created_at DESC)",
                """
                CREATE TABLE order_fills (
                    symbol text NOT NULL, trade_id bigint NOT NULL, client_order_id text NOT NULL REFERENCES orders,
                    quantity numeric NOT NULL, price numeric NOT NULL, commission numeric NOT NULL, commission_asset text NOT NULL,
                    time timestamptz NOT NULL, PRIMARY KEY (symbol, trade_id))
                """,
            ]),
        Migration(
            version: 2, name: "orders: what the exchange reported filled",
            statements: [
                "ALTER TABLE orders ADD COLUMN exchange_executed numeric NOT NULL DEFAULT 0",
                "DROP INDEX orders_unfinished",
                """
                CREATE INDEX orders_unfinished ON orders (created_at)
                WHERE state NOT IN ('filled', 'canceled', 'rejected', 'expired') OR exit_state = 'armed' OR executed < exchange_executed
                """,
            ]),
        Migration(
            version: 3, name: "orders: operators' closes of positions",
            statements: [
                "ALTER TABLE orders DROP CONSTRAINT orders_purpose_check",
                """
                ALTER TABLE orders ADD CONSTRAINT orders_purpose_check
                    CHECK (purpose IN ('entry', 'reprice', 'take_profit', 'stop_loss', 'close'))
                """,
            ]),
        Migration(
            version: 5, name: "orders: the venue each is placed on; fills keyed by venue (trade ids are each venue's own)",
            statements: [
                "ALTER TABLE orders ADD COLUMN venue text NOT NULL DEFAULT 'binance' CHECK (venue IN ('binance', 'okx'))",
                "ALTER TABLE order_fills ADD COLUMN venue text NOT NULL DEFAULT 'binance'",
                "ALTER TABLE order_fills DROP CONSTRAINT order_fills_pkey",
                "ALTER TABLE order_fills ADD PRIMARY KEY (venue, symbol, trade_id)",
            ]),
    ]

    /// Writes a new order; false when one with its client order id exists already (the signal
    /// was handled before). In a transaction of its own, so it returns once committed (see
    /// `docs/decisions.md`: a lone statement's answer comes before its commit): the order is
    /// sent only after.
    public func insert(_ order: StoredOrder) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO orders (client_order_id, signal_id, purpose, parent, symbol, side, quantity, price, reference_price, state,
                                    reprices, created_at, updated_at, venue)
                VALUES (\(order.clientOrderId), \(order.signalId), \(order.purpose.rawValue), \(order.parent), \(order.symbol),
                        \(order.side.rawValue), \(order.tracked.quantity.description)::numeric, \(order.price.description)::numeric,
                        \(order.referencePrice.description)::numeric, \(order.state.rawValue), \(order.reprices), \(order.createdAt),
                        \(order.updatedAt), \(order.venue.rawValue))
                ON CONFLICT (client_order_id) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect().count == 1
        }
    }

    /// Writes an order's state, fills so far, reason and exits, with the fills that brought it
    /// there, in one transaction: the recorded fills are always those its `executed` counts,
    /// so a restart knows exactly which fills it has booked. A write older than the row (one
    /// that timed out and went through late) changes nothing.
    public func save(_ order: StoredOrder, fills: [RecordedFill] = []) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for fill in fills {
                try await connection.query(
                    """
                    INSERT INTO order_fills (venue, symbol, trade_id, client_order_id, quantity, price, commission, commission_asset,
                                             time)
                    VALUES (\(order.venue.rawValue), \(fill.symbol), \(fill.tradeId), \(fill.clientOrderId),
                            \(fill.quantity.description)::numeric, \(fill.price.description)::numeric,
                            \(fill.commission.description)::numeric, \(fill.commissionAsset), \(fill.time))
                    ON CONFLICT (venue, symbol, trade_id) DO NOTHING
                    """, logger: logger)
            }
            try await connection.query(
                """
                UPDATE orders SET state = \(order.state.rawValue), exchange_order_id = \(order.tracked.exchangeOrderId),
                    executed = \(order.tracked.executed.description)::numeric,
                    cumulative_quote = \(order.tracked.cumulativeQuote.description)::numeric, reason = \(order.reason),
                    exit_state = \(order.exitState.rawValue), take_profit = \(order.takeProfit?.description)::numeric,
                    stop_loss = \(order.stopLoss?.description)::numeric, updated_at = \(order.updatedAt),
                    exchange_executed = \(order.exchangeExecuted.description)::numeric
                WHERE client_order_id = \(order.clientOrderId) AND updated_at <= \(order.updatedAt)
                """, logger: logger)
        }
    }

    /// Orders not yet settled: not final, missing fills the exchange reported, or with exits
    /// armed; oldest first.
    public func unfinished() async throws -> [StoredOrder] {
        try await read(
            """
            WHERE o.state NOT IN ('filled', 'canceled', 'rejected', 'expired') OR o.exit_state = 'armed'
                OR o.executed < o.exchange_executed ORDER BY o.created_at
            """, [])
    }

    /// One order by client order id.
    public func order(_ clientOrderId: String) async throws -> StoredOrder? {
        try await read("WHERE o.client_order_id = $1", [clientOrderId]).first
    }

    /// The newest orders first (ties by client order id); only those not final when
    /// `openOnly`; only those after the order `before` in that order when given (the next page).
    public func recent(limit: Int, openOnly: Bool, before: String? = nil) async throws -> [StoredOrder] {
        var conditions: [String] = []
        if openOnly { conditions.append("o.state NOT IN ('filled', 'canceled', 'rejected', 'expired')") }
        if before != nil {
            conditions.append(
                "(o.created_at, o.client_order_id) < (SELECT b.created_at, b.client_order_id FROM orders b WHERE b.client_order_id = $1)")
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try await read(
            "\(filter) ORDER BY o.created_at DESC, o.client_order_id DESC LIMIT \(max(1, min(limit, 1_000)))", before.map { [$0] } ?? [])
    }

    /// Every fill of the orders, oldest first (for tests and audits).
    public func fills(limit: Int = 100_000) async throws -> [RecordedFill] {
        let rows = try await client.query(
            """
            SELECT client_order_id, symbol, trade_id, quantity::text, price::text, commission::text, commission_asset, time
            FROM order_fills ORDER BY time, trade_id LIMIT \(limit)
            """, logger: logger)
        var fills: [RecordedFill] = []
        for try await (id, symbol, tradeId, quantity, price, commission, asset, time) in rows.decode(
            (String, String, Int64, String, String, String, String, Date).self)
        {
            fills.append(
                RecordedFill(
                    clientOrderId: id, symbol: symbol, tradeId: tradeId, quantity: try Quantity(parsing: quantity),
                    price: try Price(parsing: price), commission: try FixedDecimal(parsing: commission), commissionAsset: asset,
                    time: time))
        }
        return fills
    }

    private static let columns = """
        o.client_order_id, o.signal_id, o.purpose, o.parent, o.symbol, o.side, o.quantity::text, o.price::text,
        o.reference_price::text, o.state, o.exchange_order_id, o.executed::text, o.cumulative_quote::text, o.reprices, o.reason,
        o.exit_state, o.take_profit::text, o.stop_loss::text, o.created_at, o.updated_at, o.exchange_executed::text,
        COALESCE((SELECT array_agg(f.trade_id) FROM order_fills f WHERE f.client_order_id = o.client_order_id), '{}'), o.venue
        """

    private func read(_ tail: String, _ bindings: [String]) async throws -> [StoredOrder] {
        var query = PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM orders o \(tail)")
        for binding in bindings { query.binds.append(binding) }
        let rows = try await client.query(query, logger: logger)
        var orders: [StoredOrder] = []
        for try await row in rows {
            orders.append(try Self.order(from: row))
        }
        return orders
    }

    static func order(from row: PostgresRow) throws -> StoredOrder {
        let (
            id, signal, purpose, parent, symbol, side, quantity, price, reference, state, orderId, executed, quote, reprices, reason,
            exitState, takeProfit, stopLoss, createdAt, updatedAt, exchangeExecuted, tradeIds, venue
        ) = try row.decode(
            (
                String, String, String, String?, String, String, String, String, String, String, Int64?, String, String, Int32,
                String?, String, String?, String?, Date, Date, String, [Int64], String
            ).self)
        guard let purpose = OrderPurpose(rawValue: purpose), let side = OrderSide(rawValue: side),
            let state = OrderState(rawValue: state), let exitState = ExitState(rawValue: exitState),
            let venue = TradingVenue(rawValue: venue)
        else { throw StoredOrderError(clientOrderId: id, reason: "unknown purpose, side, state, exit state or venue") }
        do {
            var order = StoredOrder(
                clientOrderId: id, signalId: signal, purpose: purpose, parent: parent, symbol: symbol, side: side,
                quantity: try Quantity(parsing: quantity), price: try Price(parsing: price), referencePrice: try Price(parsing: reference),
                reprices: Int(reprices), createdAt: createdAt, venue: venue)
            order.tracked.state = state
            order.tracked.exchangeOrderId = orderId
            order.tracked.executed = try Quantity(parsing: executed)
            order.tracked.cumulativeQuote = try Money(parsing: quote)
            order.tracked.tradeIds = Set(tradeIds)
            order.reason = reason
            order.updatedAt = updatedAt
            order.exitState = exitState
            order.takeProfit = try takeProfit.map { try Price(parsing: $0) }
            order.stopLoss = try stopLoss.map { try Price(parsing: $0) }
            order.exchangeExecuted = try Quantity(parsing: exchangeExecuted)
            return order
        } catch {
            throw StoredOrderError(clientOrderId: id, reason: "\(error)")
        }
    }
}

/// A stored order that does not read back.
public struct StoredOrderError: Error, CustomStringConvertible {
    public var clientOrderId: String
    public var reason: String
    public var description: String { "orders row \(clientOrderId): \(reason)" }
}
