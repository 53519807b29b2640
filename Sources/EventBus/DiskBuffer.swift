import Foundation
import GRDB

/// Events waiting for Redis, in publish order, in SQLite: WAL, `synchronous=FULL`, so an append
/// that returned survives a crash or power loss. Appends that arrive while a transaction is
/// being written are committed together in the next one (group commit), so many publishers
/// share each fsync.
actor DiskBuffer {
    struct Entry: Sendable {
        var sequence: Int64
        var stream: String
        var envelope: Data
    }

    private let database: DatabaseQueue
    private var pending: [(entries: [(stream: String, envelope: Data)], continuation: CheckedContinuation<Void, any Error>)] = []
    private var writing = false
    /// Entries and bytes accepted by `append` but not yet committed.
    private var appendingCount = 0
    private var appendingBytes = 0
    private(set) var count: Int
    private(set) var bytes: Int

    init(path: String) throws {
        database = try DurableDatabase.open(path: path)
        try database.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS buffered_events (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        stream TEXT NOT NULL,
                        envelope BLOB NOT NULL
                    )
                    """)
        }
        (count, bytes) = try database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(LENGTH(envelope)), 0) FROM buffered_events")!
            return (row[0] as Int, row[1] as Int)
        }
    }

    /// Appends in order; returns once the entries are on disk.
    func append(_ entries: [(stream: String, envelope: Data)]) async throws {
        let size = entries.reduce(0) { $0 + $1.envelope.count }
        count += entries.count
        bytes += size
        appendingCount += entries.count
        appendingBytes += size
        defer {
            appendingCount -= entries.count
            appendingBytes -= size
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append((entries, continuation))
            if !writing {
                writing = true
                Task { await self.writePending() }
            }
        }
    }

    private func writePending() async {
        while !pending.isEmpty {
            let group = pending
            pending = []
            do {
                try await database.write { db in
                    let statement = try db.makeStatement(sql: "INSERT INTO buffered_events (stream, envelope) VALUES (?, ?)")
                    for request in group {
                        for entry in request.entries {
                            try statement.execute(arguments: [entry.stream, entry.envelope])
                        }
                    }
                }
                for request in group { request.continuation.resume() }
            } catch {
                for request in group {
                    count -= request.entries.count
                    bytes -= request.entries.reduce(0) { $0 + $1.envelope.count }
                    request.continuation.resume(throwing: error)
                }
            }
        }
        writing = false
    }

    /// Whether nothing is buffered: no append in flight and no row in the file. Re-reads the
    /// totals from the file, since another publisher on the same file (a previous instance
    /// still flushing) may have drained rows this one counted.
    func isDrained() async throws -> Bool {
        guard appendingCount == 0 else { return false }
        let (rows, rowBytes) = try await database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(LENGTH(envelope)), 0) FROM buffered_events")!
            return (row[0] as Int, row[1] as Int)
        }
        count = rows + appendingCount
        bytes = rowBytes + appendingBytes
        return count == 0
    }

    /// The oldest entries, in order.
    func oldest(_ limit: Int) async throws -> [Entry] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT sequence, stream, envelope FROM buffered_events ORDER BY sequence LIMIT ?", arguments: [limit]
            )
            .map { Entry(sequence: $0[0], stream: $0[1], envelope: $0[2]) }
        }
    }

    /// Removes entries up to and including `sequence`, once Redis has them.
    func remove(through sequence: Int64, count removed: Int, bytes removedBytes: Int) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM buffered_events WHERE sequence <= ?", arguments: [sequence])
        }
        count -= removed
        bytes -= removedBytes
    }
}
