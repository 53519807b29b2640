import Foundation
import VaktConfig

/// A configuration file for a test: every service on a free port, Redis and PostgreSQL from
/// the fixtures, state under a fresh temporary directory.
public struct TestConfiguration: Sendable {
    public let path: String
    public let ports: [ServiceKind: Int]
    public let directory: URL

    /// - Parameter disabled: services the supervisor must not start.
    public init(redisPort: Int, postgres: PostgresServer?, disabled: Set<ServiceKind> = [], extraYAML: String = "") throws {
        directory = try TestEnvironment.temporaryDirectory("vakt-config")
        var ports: [ServiceKind: Int] = [:]
        for kind in ServiceKind.allCases { ports[kind] = TestEnvironment.freePort() }
        self.ports = ports
        var yaml = """
            system:
              instance: test
              state_directory: \(directory.path)/state
            log:
              level: info
            redis:
              port: \(redisPort)
              reconnect_initial_delay: 20ms
              reconnect_max_delay: 200ms
            health:
              check_timeout: 1s
            exchange:
              base_url: http://127.0.0.1:\(ports[.exchangeSim]!)

            """
        if let postgres {
            yaml += """
                postgres:
                  host: \(postgres.host)
                  port: \(postgres.port)
                  user: \(postgres.user)
                  database: \(postgres.database)

                """
        }
        yaml += "services:\n"
        for kind in ServiceKind.allCases {
            yaml += "  \(kind.rawValue):\n    port: \(ports[kind]!)\n    shutdown_timeout: 5s\n"
            if disabled.contains(kind) { yaml += "    enabled: false\n" }
        }
        yaml += extraYAML
        path = directory.appendingPathComponent("vakt.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    }

    public func url(_ kind: ServiceKind, _ path: String) -> String {
        "http://127.0.0.1:\(ports[kind]!)\(path)"
    }
}
