import Foundation
import GRDB

/// SQLite as the durable stores of the system use it (the event bus's disk buffer, the alert
/// outbox): WAL with `synchronous=FULL`, so a committed transaction survives a crash or a power
/// loss, in a directory created on first use.
public enum DurableDatabase {
    public static func open(path: String) throws -> DatabaseQueue {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
