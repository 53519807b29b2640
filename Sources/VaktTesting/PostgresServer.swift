import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL cluster that `scripts/infra start` runs for the tests, found through
/// `TEST_POSTGRES_PORT` (set by `scripts/test`).
public struct PostgresServer: Sendable {
    public let host = "127.0.0.1"
    public let port: Int
    public let user: String
    public let database: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let text = environment["TEST_POSTGRES_PORT"], let port = Int(text) else {
            throw MissingFixture(
                "TEST_POSTGRES_PORT is not set: run the tests with scripts/test, which starts PostgreSQL under var/")
        }
        self.init(port: port, user: environment["TEST_POSTGRES_USER"] ?? "vakt", database: environment["TEST_POSTGRES_DATABASE"] ?? "vakt")
    }

    private init(port: Int, user: String, database: String) {
        self.port = port
        self.user = user
        self.database = database
    }

    /// The same cluster with a new, empty database of the test's own, so tests that keep state
    /// in PostgreSQL (the ESS) cannot see each other's rows.
    public func freshDatabase() async throws -> PostgresServer {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: nil, database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test.postgres"))
        do {
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(user)"), logger: Logger(label: "test.postgres"))
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        return PostgresServer(port: port, user: user, database: name)
    }
}
