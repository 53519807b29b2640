import EventBus
import PostgresNIO

/// Tells a PostgreSQL that cannot be reached (down, restarting, the connection lost, a failover)
/// from a statement it refused (a constraint, a value out of range): the first passes, the
/// second is about the data.
public enum PostgresOutage {
    /// SQLSTATE classes of a server that is going away or cannot serve now: connection
    /// exceptions (08), transaction rollbacks such as serialization failures (40), insufficient
    /// resources (53), operator intervention such as an administrator's shutdown or a server
    /// still starting (57), and system errors (58).
    static let passingClasses: Set<Substring> = ["08", "40", "53", "57", "58"]
    /// And one state of its own: a read-only server (25006) refusing a write is a standby
    /// answering in its primary's place while a failover is under way.
    static let passingStates: Set<String> = ["25006"]

    public static func isOutage(_ error: any Error) -> Bool {
        let error = PostgresErrorText.decisive(error)
        if error is CancellationError { return false }
        guard let error = error as? PSQLError else {
            // The pool's and the network's own errors: no statement was refused.
            return true
        }
        switch error.code {
        case .server:
            guard let state = error.serverInfo?[.sqlState] else { return false }
            return passingClasses.contains(state.prefix(2)) || passingStates.contains(state)
        case .clientClosedConnection, .serverClosedConnection, .connectionError, .uncleanShutdown, .poolClosed,
            .sslUnsupported, .failedToAddSSLHandler:
            return true
        default:
            return false
        }
    }

    /// Runs `body` for an event handler: an outage it meets is thrown as
    /// ``DependencyUnavailable``, so the consumer retries the event in place until PostgreSQL
    /// answers again instead of dead-lettering it; any other error passes as it is. A query
    /// waits for a connection as long as the server is gone, so `body` is given `limit`, and no
    /// answer within it counts as an outage too (the consumer then renews its lease and retries).
    public static func surfaced<T: Sendable>(
        within limit: Duration = .seconds(10), _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        do {
            return try await withTimeout(limit, operation: body)
        } catch {
            guard isOutage(error) else { throw error }
            throw DependencyUnavailable("PostgreSQL", reason: PostgresErrorText.describe(error))
        }
    }
}
