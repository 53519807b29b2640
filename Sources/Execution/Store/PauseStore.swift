import EventBus
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// A symbol an operator paused: no signal on it is traded until it is resumed. Exits armed
/// for earlier buys still fire, and a close still sells: a pause stops new decisions, not
/// the protection of what is held.
public struct SymbolPause: Sendable, Equatable {
    public var symbol: String
    public var reason: String
    /// Who asked (the gateway passes on the caller it saw).
    public var requester: String
    public var since: Date

    public init(symbol: String, reason: String, requester: String, since: Date) {
        self.symbol = symbol
        self.reason = reason
        self.requester = requester
        self.since = since
    }

    public var json: JSONValue {
        .object(["symbol": .string(symbol), "reason": .string(reason), "requester": .string(requester), "since": .time(since)])
    }
}

/// The paused symbols in PostgreSQL (`paused_symbols`), so that a pause outlives restarts.
struct PauseStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    static let migrations = [
        Migration(
            version: 4, name: "paused symbols",
            statements: [
                """
                CREATE TABLE paused_symbols (
                    symbol text PRIMARY KEY, reason text NOT NULL, requester text NOT NULL, since timestamptz NOT NULL)
                """
            ])
    ]

    func all() async throws -> [SymbolPause] {
        let rows = try await client.query("SELECT symbol, reason, requester, since FROM paused_symbols ORDER BY symbol", logger: logger)
        var pauses: [SymbolPause] = []
        for try await (symbol, reason, requester, since) in rows.decode((String, String, String, Date).self) {
            pauses.append(SymbolPause(symbol: symbol, reason: reason, requester: requester, since: since))
        }
        return pauses
    }

    /// Writes `pause` unless its symbol is paused already; true when written (and committed:
    /// a transaction of its own, see `docs/decisions.md`).
    func insert(_ pause: SymbolPause) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO paused_symbols (symbol, reason, requester, since)
                VALUES (\(pause.symbol), \(pause.reason), \(pause.requester), \(pause.since))
                ON CONFLICT (symbol) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect().count == 1
        }
    }

    /// Removes `symbol`'s pause; the one removed, if there was one (committed).
    func delete(_ symbol: String) async throws -> SymbolPause? {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "DELETE FROM paused_symbols WHERE symbol = \(symbol) RETURNING reason, requester, since", logger: logger
            ).collect()
            return try rows.first.map { row in
                let (reason, requester, since) = try row.decode((String, String, Date).self)
                return SymbolPause(symbol: symbol, reason: reason, requester: requester, since: since)
            }
        }
    }
}
