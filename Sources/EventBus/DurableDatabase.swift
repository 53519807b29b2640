import Foundation
import GRDB

/// SQLite as the durable stores of the system use it (the event bus's disk buffer, the alert
/// outbox): WAL with `synchronous=FULL`, so a committed transaction survives a crash or a power
/// loss, in a directory created on first use; an open waits up to 10 s for another holder.
public enum DurableDatabase {
    public static func open(path: String) throws -> DatabaseQueue {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var configuration = Configuration()
        configuration.journalMode = .wal
        // A store still held by its previous owner (a process or publisher being closed) is
        // waited for, not refused: "database is locked" on open lost a publisher its buffer.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Runs `work` (opening a store: file I/O, schema, a first read) on a thread of its own,
    /// since it blocks, and the concurrency pool's few threads must not.
    public static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}
