import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL cluster that `scripts/infra start` runs for the tests, found through
/// `TEST_POSTGRES_PORT` (set by `scripts/test`).
public struct PostgresServer: Sendable {
    public let host: String
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

    public init(port: Int, user: String, database: String, host: String = "127.0.0.1") {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
    }

    /// The same cluster with a new, empty database of the test's own, so tests that keep state
    /// in PostgreSQL (the ESS) cannot see each other's rows.
    /// A pooled client for this database; run it (`client.run()`) in a task while it is used.
    public func client() -> PostgresClient {
        PostgresClient(
            configuration: .init(host: host, port: port, username: user, password: nil, database: database, tls: .disable),
            backgroundLogger: Logger(label: "test.postgres"))
    }

    public func freshDatabase() async throws -> PostgresServer {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await DatabaseCreator.shared.create(name, on: self)
        return PostgresServer(port: port, user: user, database: name, host: host)
    }
}

/// Creates databases one at a time: PostgreSQL refuses a `CREATE DATABASE` while another one
/// copies the same template ("source database is being accessed by other users").
actor DatabaseCreator {
    static let shared = DatabaseCreator()

    func create(_ name: String, on server: PostgresServer) async throws {
        let logger = Logger(label: "test.postgres")
        let configuration = PostgresConnection.Configuration(
            host: server.host, port: server.port, username: server.user, password: nil, database: server.database, tls: .disable)
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await PostgresConnection.connect(configuration: configuration, id: attempt, logger: logger)
            do {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) OWNER \(server.user)"), logger: logger)
                try await connection.close()
                return
            } catch {
                try? await connection.close()
                // Another test process may be copying the template at the same moment.
                guard attempt < 20 else { throw MissingFixture("cannot create database \(name): \(String(reflecting: error))") }
                try await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }
}
