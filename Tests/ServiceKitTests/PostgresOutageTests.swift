import EventBus
import Logging
import PostgresNIO
import ServiceKit
import Testing
import VaktTesting

/// `PostgresOutage` against real PostgreSQL servers: a server that is gone is an outage (an
/// event handler's `DependencyUnavailable`), a statement the server refused is not, and passes
/// as it was thrown.
@Suite struct PostgresOutageTests {
    static let logger = Logger(label: "test.outage")
    /// For statements that reach the server: a loaded machine once took over 10 s (the
    /// default) to open the pool's first connection, and this is about kinds, not speed.
    static let generous: Duration = .seconds(300)

    @Test func aServerThatIsGoneIsAnOutage() async throws {
        // A port nothing listens on: the pool cannot connect.
        let gone = PostgresServer(port: TestEnvironment.freePort(), user: "vakt", database: "vakt").client()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await gone.run() }
            defer { group.cancelAll() }
            let error = await #expect(throws: DependencyUnavailable.self) {
                // The pool waits for a connection as long as the server is gone: no answer
                // within the limit is an outage as well as a refused connection is.
                try await PostgresOutage.surfaced(within: .seconds(2)) {
                    _ = try await gone.query("SELECT 1", logger: Self.logger).collect()
                }
            }
            #expect(error?.dependency == "PostgreSQL")
        }
    }

    @Test func aRefusedStatementIsNotAnOutage() async throws {
        let client = try await PostgresServer().freshDatabase().client()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            // SQLSTATE 22012 (a data exception) and 42601 (a syntax error): about the statement.
            for sql in ["SELECT 1 / 0", "SELEC 1"] {
                await #expect {
                    try await PostgresOutage.surfaced(within: Self.generous) {
                        _ = try await client.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).collect()
                    }
                } throws: { error in
                    error is PSQLError && !PostgresOutage.isOutage(error)
                }
            }
            // The same refusals inside a transaction (as the services' writes run) are still
            // about the statement.
            await #expect {
                try await PostgresOutage.surfaced(within: Self.generous) {
                    try await client.withTransaction(logger: Self.logger) { connection in
                        _ = try await connection.query("SELECT 1 / 0", logger: Self.logger).collect()
                    }
                }
            } throws: { error in
                error is PostgresTransactionError && !PostgresOutage.isOutage(error)
                    && PostgresErrorText.describe(error).contains("division by zero")
            }
            // A read-only server refusing a write (25006, a standby while a failover is under
            // way) is one.
            await #expect {
                try await PostgresOutage.surfaced(within: Self.generous) {
                    try await client.withConnection { connection in
                        _ = try await connection.query("SET default_transaction_read_only = on", logger: Self.logger).collect()
                        _ = try await connection.query("CREATE TABLE refused_here (n integer)", logger: Self.logger).collect()
                    }
                }
            } throws: { error in
                error is DependencyUnavailable && "\(error)".contains("read-only")
            }
            // An administrator's shutdown of the session (57P01) is one.
            await #expect {
                try await PostgresOutage.surfaced(within: Self.generous) {
                    _ = try await client.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: Self.logger).collect()
                }
            } throws: { error in
                error is DependencyUnavailable
            }
        }
    }
}
