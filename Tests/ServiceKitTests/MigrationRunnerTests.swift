import Logging
import PostgresNIO
import ServiceKit
import Testing
import VaktTesting

/// The migration runner against a real PostgreSQL database of the test's own.
@Suite struct MigrationRunnerTests {
    static let first = Migration(version: 1, name: "orders", statements: ["CREATE TABLE orders (id text PRIMARY KEY)"])
    static let second = Migration(
        version: 2, name: "order quantity",
        statements: ["ALTER TABLE orders ADD COLUMN quantity text", "CREATE INDEX ON orders (quantity)"])

    /// Runs `body` with a running client for a fresh database.
    static func withDatabase(_ body: (PostgresClient) async throws -> Void) async throws {
        let client = try await PostgresServer().freshDatabase().client()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }

    static func runner(_ client: PostgresClient, _ migrations: [Migration], service: String = "orders") -> MigrationRunner {
        MigrationRunner(service: service, migrations: migrations, client: client, logger: Logger(label: "test"))
    }

    static func count(_ client: PostgresClient, _ sql: String) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test"))
        for try await (value) in rows.decode(Int.self) { return value }
        return -1
    }

    @Test func eightRunnersAtOnceApplyEachMigrationOnce() async throws {
        try await Self.withDatabase { client in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<8 { group.addTask { try await Self.runner(client, [Self.first, Self.second]).run() } }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(applied == [1, 2], "one runner applied both, the others found nothing to do")
            #expect(try await Self.count(client, "SELECT count(*)::int FROM vakt_migrations WHERE service = 'orders'") == 2)
            #expect(try await Self.runner(client, [Self.first, Self.second]).run().isEmpty)
            // Another service's migrations are its own.
            #expect(
                try await Self.runner(client, [Migration(version: 1, name: "x", statements: ["SELECT 1"])], service: "other").run() == [1])
        }
    }

    @Test func aChangedAppliedMigrationIsRefusedByName() async throws {
        try await Self.withDatabase { client in
            try await Self.runner(client, [Self.first]).run()
            var edited = Self.first
            edited.statements = ["CREATE TABLE orders (id text PRIMARY KEY, side text)"]
            await #expect {
                try await Self.runner(client, [edited, Self.second]).run()
            } throws: { error in
                guard case MigrationError.changed(let service, let migration, _, _) = error else { return false }
                return service == "orders" && migration == "1 (orders)"
                    && "\(error)".contains("migration 1 (orders) was changed after it was applied")
            }
            #expect(try await Self.count(client, "SELECT count(*)::int FROM vakt_migrations") == 1, "nothing applied after the refusal")
        }
    }

    @Test func aDatabaseAheadOfTheBuildAndABadListAreRefused() async throws {
        try await Self.withDatabase { client in
            try await Self.runner(client, [Self.first, Self.second]).run()
            await #expect(throws: MigrationError.unknownApplied(service: "orders", version: 2, name: "order quantity")) {
                try await Self.runner(client, [Self.first]).run()
            }
            await #expect(throws: MigrationError.badList("expected version 1 at position 1, found 2 (order quantity)")) {
                try await Self.runner(client, [Self.second]).run()
            }
        }
    }

    @Test func aFailingMigrationLeavesNothingHalfApplied() async throws {
        try await Self.withDatabase { client in
            let broken = Migration(
                version: 2, name: "broken", statements: ["ALTER TABLE orders ADD COLUMN note text", "SELECT * FROM nowhere"])
            await #expect(throws: (any Error).self) { try await Self.runner(client, [Self.first, broken]).run() }
            #expect(try await Self.count(client, "SELECT count(*)::int FROM vakt_migrations") == 1)
            let noteColumns = try await Self.count(
                client, "SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'")
            #expect(noteColumns == 0, "the first statement was rolled back with the second")
            // The lock was released: a fixed migration applies.
            #expect(try await Self.runner(client, [Self.first, Self.second]).run() == [2])
        }
    }
}
