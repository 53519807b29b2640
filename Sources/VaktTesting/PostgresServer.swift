import Foundation

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
        self.port = port
        self.user = environment["TEST_POSTGRES_USER"] ?? "vakt"
        self.database = environment["TEST_POSTGRES_DATABASE"] ?? "vakt"
    }
}
