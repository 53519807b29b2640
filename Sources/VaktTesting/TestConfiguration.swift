import Foundation
import VaktConfig

/// A configuration file for a test: every service on a free port, Redis and PostgreSQL from
/// the fixtures, state under a fresh temporary directory.
public struct TestConfiguration: Sendable {
    public let path: String
    public let ports: [ServiceKind: Int]
    public let directory: URL
    public let address: String

    /// - Parameters:
    ///   - disabled: services the supervisor must not start.
    ///   - serviceSettings: extra YAML lines (without indentation) per service, such as `restart: never`.
    ///   - programs: other programs to supervise, by name, each with its YAML lines (`command: [...]`).
    ///   - supervisorSettings: extra YAML lines for the `supervisor` section.
    ///   - sections: more top-level YAML, such as an `ess:` section.
    ///   - address: the address every service answers on (a ``NetworkHost``'s).
    ///   - redis: the `redis:` section's lines locating Redis (`port: <redisPort>` by default).
    public init(
        redisPort: Int, postgres: PostgresServer?, disabled: Set<ServiceKind> = [], serviceSettings: [ServiceKind: [String]] = [:],
        programs: [(name: String, settings: [String])] = [], supervisorSettings: [String] = [], sections: String = "",
        address: String = "127.0.0.1", redis: [String]? = nil
    ) throws {
        self.address = address
        directory = try TestEnvironment.temporaryDirectory("vakt-config")
        var ports: [ServiceKind: Int] = [:]
        for kind in ServiceKind.allCases {
            // The kernel may hand out a just-released port again; every service needs its own.
            var port = TestEnvironment.freePort()
            while ports.values.contains(port) || port == redisPort { port = TestEnvironment.freePort() }
            ports[kind] = port
        }
        self.ports = ports
        // A test's own `health:` section replaces the default one. The default gives each
        // dependency check 10 s: on a busy 2-core machine a Redis PING has taken over a second,
        // and a test that wants a timeout sets its own.
        let sectionsSetHealth = sections.split(separator: "\n").contains { $0.hasPrefix("health:") }
        var supervisorLines = supervisorSettings
        if !supervisorLines.contains(where: { $0.hasPrefix("state_directory:") }) {
            supervisorLines.append("state_directory: \(directory.path)/supervisor")
        }
        var yaml = """
            system:
              instance: test
              state_directory: \(directory.path)/state
            log:
              level: info
            http:
              host: \(address)
            redis:
            \((redis ?? ["port: \(redisPort)"]).map { "  \($0)\n" }.joined())  reconnect_initial_delay: 20ms
              reconnect_max_delay: 200ms
            supervisor:
              ready_timeout: 20s
            \(supervisorLines.map { "  \($0)\n" }.joined())\(sectionsSetHealth ? "" : "health:\n  check_timeout: 10s\n")exchange:
              base_url: http://\(address):\(ports[.exchangeSim]!)

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
        yaml += sections
        yaml += "services:\n"
        for kind in ServiceKind.allCases {
            yaml += "  \(kind.rawValue):\n    port: \(ports[kind]!)\n    stop_timeout: 5s\n"
            if disabled.contains(kind) { yaml += "    enabled: false\n" }
            for line in serviceSettings[kind] ?? [] { yaml += "    \(line)\n" }
        }
        for program in programs {
            yaml += "  \(program.name):\n" + program.settings.map { "    \($0)\n" }.joined()
        }
        path = directory.appendingPathComponent("vakt.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    }

    public func url(_ kind: ServiceKind, _ path: String) -> String {
        "http://\(address):\(ports[kind]!)\(path)"
    }
}
