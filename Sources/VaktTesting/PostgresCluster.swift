import Foundation

/// A PostgreSQL cluster of one test's own (`scripts/infra`'s, in a temporary directory, on a
/// free port) that the test may crash and start again while the shared cluster stays up for
/// every other test. Its database `vakt` and role `vakt` are made as `scripts/infra` makes them.
public final class PostgresCluster: Sendable {
    public let port: Int
    let directory: URL
    /// The host it runs on, answering on its address besides loopback (the host's subnet
    /// trusted, as loopback is); this machine's loopback only when nil.
    public let host: NetworkHost?
    public var address: String? { host?.address }

    public init(on host: NetworkHost? = nil) throws {
        port = TestEnvironment.freePort()
        directory = try TestEnvironment.temporaryDirectory("vakt-postgres")
        self.host = host
    }

    /// The cluster as the fixtures take it (`RiskSystem(postgres:)`), at its other address if
    /// it has one.
    public var server: PostgresServer { PostgresServer(port: port, user: "vakt", database: "vakt", host: address ?? "127.0.0.1") }

    /// Starts it (initializing it the first time) and waits until it answers.
    public func start() async throws { try await infra("postgres-start") }

    /// An immediate stop, without a checkpoint, as when its host dies: the next start recovers
    /// from the write-ahead log.
    public func crash() async throws { try await infra("postgres-crash") }

    public func stop() async throws { try await infra("postgres-stop") }

    /// Starts it as a streaming standby of `primary` (a base backup of it the first time), and
    /// makes it synchronous there: the primary's COMMIT returns once this one holds it.
    public func startAsStandby(of primary: PostgresCluster) async throws {
        try await infra(
            "postgres-standby",
            ["VAKT_INFRA_PRIMARY_PORT": String(primary.port), "VAKT_INFRA_PRIMARY_HOST": primary.address ?? "127.0.0.1"])
    }

    /// A standby becomes a primary, as an operator promotes one after its primary is lost.
    public func promote() async throws { try await infra("postgres-promote") }

    /// Stopped at once and its files removed when released: a test that failed half-way
    /// leaves no server behind.
    deinit {
        // On this machine, not the host: the host's namespace may be gone by now.
        _ = try? TestEnvironment.runBlocking(Self.infraScript, ["postgres-crash"], environment: infraEnvironment())
        try? FileManager.default.removeItem(at: directory)
    }

    private static let infraScript = TestEnvironment.packageRoot.appendingPathComponent("scripts/infra").path

    /// The environment `scripts/infra` finds this cluster by.
    private func infraEnvironment(_ more: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.merging(more) { _, given in given }
        environment["VAKT_INFRA_DIR"] = directory.path
        environment["VAKT_INFRA_POSTGRES_PORT"] = String(port)
        if let address { environment["VAKT_INFRA_POSTGRES_ADDRESS"] = address }
        return environment
    }

    private func infra(_ command: String, _ more: [String: String] = [:]) async throws {
        let launch = (host ?? NetworkHost.loopback).launch(Self.infraScript, [command])
        let result = try await TestEnvironment.run(launch.executable, launch.arguments, environment: infraEnvironment(more))
        guard result.status == 0 else { throw MissingFixture("scripts/infra \(command) failed (\(result.status)): \(result.output)") }
    }
}
