import Logging
import PostgresNIO

/// Brings one service's schema up to date. Every instance of every service runs it at
/// start-up; one PostgreSQL advisory lock makes them take turns (services share the
/// `vakt_migrations` table, whose creation two sessions at once would race on), so the first
/// instance of a service applies what is pending and the others find nothing left to do. Applied versions and their checksums are
/// kept in `vakt_migrations`, one row per (service, version).
public struct MigrationRunner: Sendable {
    public let service: String
    public let migrations: [Migration]
    let client: PostgresClient
    let logger: Logger

    public init(service: String, migrations: [Migration], client: PostgresClient, logger: Logger) {
        self.service = service
        self.migrations = migrations
        self.client = client
        self.logger = logger
    }

    /// Applies what is pending; returns the versions it applied (none when another instance
    /// or an earlier start did).
    @discardableResult
    public func run() async throws -> [Int] {
        try MigrationError.check(migrations)
        let lock = "vakt.migrations"
        return try await client.withConnection { connection in
            // Session-level: held across the transactions below, released however this ends.
            try await connection.query("SELECT pg_advisory_lock(hashtext(\(lock)))", logger: logger)
            do {
                let applied = try await apply(on: connection)
                try await connection.query("SELECT pg_advisory_unlock(hashtext(\(lock)))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext(\(lock)))", logger: logger)
                throw error
            }
        }
    }

    private func apply(on connection: PostgresConnection) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS vakt_migrations (
                service text NOT NULL, version integer NOT NULL, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (service, version))
            """, logger: logger)
        var recorded: [Int: (name: String, checksum: String)] = [:]
        let rows = try await connection.query(
            "SELECT version, name, checksum FROM vakt_migrations WHERE service = \(service) ORDER BY version", logger: logger)
        for try await (version, name, checksum) in rows.decode((Int, String, String).self) {
            recorded[version] = (name, checksum)
        }
        for (version, record) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = migrations.first(where: { $0.version == version }) else {
                throw MigrationError.unknownApplied(service: service, version: version, name: record.name)
            }
            guard migration.checksum == record.checksum else {
                throw MigrationError.changed(
                    service: service, migration: migration.label, applied: record.checksum, now: migration.checksum)
            }
        }
        var applied: [Int] = []
        for migration in migrations where recorded[migration.version] == nil {
            try await connection.query("BEGIN", logger: logger)
            for statement in migration.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO vakt_migrations (service, version, name, checksum)
                VALUES (\(service), \(migration.version), \(migration.name), \(migration.checksum))
                """, logger: logger)
            try await connection.query("COMMIT", logger: logger)
            logger.notice("migration applied", metadata: ["migration": "\(migration.label)"])
            applied.append(migration.version)
        }
        return applied
    }
}
