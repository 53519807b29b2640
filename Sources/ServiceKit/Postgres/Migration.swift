import Crypto

/// One versioned change to a service's PostgreSQL schema. A service owns an ordered list; the
/// runner applies what the database has not seen, each in a transaction of its own, and
/// records it with a checksum of its text.
public struct Migration: Sendable, Equatable {
    /// 1, 2, 3, … in the order they apply; never reused, never renumbered.
    public var version: Int
    /// A short description, shown in logs and errors.
    public var name: String
    /// The statements, run in order in one transaction (PostgreSQL's DDL is transactional).
    public var statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// SHA-256 of the statements: an applied migration whose text changed since is refused.
    public var checksum: String {
        let text = statements.joined(separator: "\n;\n")
        return SHA256.hash(data: Array(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    public var label: String { "\(version) (\(name))" }
}

/// Why a service's schema cannot be brought up to date; start-up stops with it.
public enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The list itself is wrong: versions must run 1, 2, 3, … without gaps or repeats.
    case badList(String)
    /// An applied migration's text differs from this build's.
    case changed(service: String, migration: String, applied: String, now: String)
    /// The database has a migration this build does not know: it was migrated by a newer build.
    case unknownApplied(service: String, version: Int, name: String)

    public var description: String {
        switch self {
        case .badList(let reason): "migration list: \(reason)"
        case .changed(let service, let migration, let applied, let now):
            "\(service): migration \(migration) was changed after it was applied (checksum \(applied.prefix(12)) in the database, "
                + "\(now.prefix(12)) in this build); add a new migration instead of editing an applied one"
        case .unknownApplied(let service, let version, let name):
            "\(service): the database has migration \(version) (\(name)), which this build does not know; "
                + "it was migrated by a newer build"
        }
    }

    /// The list is 1, 2, 3, … in order.
    static func check(_ migrations: [Migration]) throws(MigrationError) {
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw .badList("expected version \(index + 1) at position \(index + 1), found \(migration.label)")
        }
    }
}
