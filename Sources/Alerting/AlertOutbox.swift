import EventBus
import Foundation
import GRDB

/// The durable half of alerting, in SQLite (WAL, `synchronous=FULL`): notifications not yet
/// delivered, and the grouper's state. Both change in one transaction, so after a crash the
/// supervisor neither forgets a notification it decided to send nor sends one twice because
/// it forgot it had decided.
public final class AlertOutbox: Sendable {
    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var receiver: String
        public var groupKey: String
        public var body: Data
        public var createdAt: Date
        public var attempts: Int
    }

    private let database: DatabaseQueue

    /// Opens (creating if needed) the outbox and reads the grouper state, on a thread of its
    /// own: opening SQLite in WAL mode with `synchronous=FULL` waits on the disk, which must not
    /// hold a thread of the concurrency pool.
    public static func open(path: String) async throws -> (AlertOutbox, AlertGrouper.State?) {
        try await DurableDatabase.onOwnThread {
            let outbox = try AlertOutbox(path: path)
            return (outbox, try outbox.loadState())
        }
    }

    private init(path: String) throws {
        database = try DurableDatabase.open(path: path)
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS notifications (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        receiver TEXT NOT NULL,
                        group_key TEXT NOT NULL,
                        body BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        last_error TEXT
                    );
                    CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_at);
                    CREATE TABLE IF NOT EXISTS grouper_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        state BLOB NOT NULL
                    );
                    """)
        }
    }

    /// The grouper's state as last committed; nil on first start.
    private func loadState() throws -> AlertGrouper.State? {
        let data = try database.read { db in try Data.fetchOne(db, sql: "SELECT state FROM grouper_state WHERE id = 1") }
        guard let data else { return nil }
        return try JSONDecoder().decode(AlertGrouper.State.self, from: data)
    }

    /// Stores the new grouper state and the notifications it produced, atomically.
    public func commit(state: AlertGrouper.State, notifications: [(receiver: String, groupKey: String, body: Data)], at now: Date)
        async throws
    {
        let encoded = try JSONEncoder().encode(state)
        try await database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO grouper_state (id, state) VALUES (1, ?)", arguments: [encoded])
            for notification in notifications {
                try db.execute(
                    sql: "INSERT INTO notifications (receiver, group_key, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        notification.receiver, notification.groupKey, notification.body, now.timeIntervalSince1970,
                        now.timeIntervalSince1970,
                    ])
            }
        }
    }

    /// The oldest notification of each receiver and group, where its next attempt is due: a
    /// group's notifications reach a receiver in the order they were decided, so a `resolved`
    /// never overtakes the `firing` it resolves.
    public func due(at now: Date, limit: Int) async throws -> [Entry] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, receiver, group_key, body, created_at, attempts FROM notifications
                    WHERE id IN (SELECT MIN(id) FROM notifications GROUP BY receiver, group_key) AND next_attempt_at <= ?
                    ORDER BY id LIMIT ?
                    """,
                arguments: [now.timeIntervalSince1970, limit]
            ).map { row in
                Entry(
                    id: row["id"], receiver: row["receiver"], groupKey: row["group_key"], body: row["body"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), attempts: row["attempts"])
            }
        }
    }

    /// Delivered or given up: gone from the outbox.
    public func remove(_ id: Int64) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM notifications WHERE id = ?", arguments: [id]) }
    }

    public func reschedule(_ id: Int64, at next: Date, error: String) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                arguments: [next.timeIntervalSince1970, error, id])
        }
    }

    /// Pending notifications by receiver.
    public func pendingCounts() async throws -> [String: Int] {
        try await database.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT receiver, COUNT(*) AS n FROM notifications GROUP BY receiver") {
                counts[row["receiver"]] = row["n"]
            }
            return counts
        }
    }
}
