/// The whole system's configuration: one YAML file shared by the supervisor and every service.
///
/// Every key, its default and meaning is listed in `docs/configuration.md`.
public struct VaktConfiguration: Sendable {
    public var system: SystemSettings
    public var log: LogSettings
    public var http: HTTPSettings
    public var redis: RedisSettings
    public var postgres: PostgresSettings
    public var exchange: ExchangeSettings
    public var health: HealthSettings
    public var services: [ServiceKind: ServiceSettings]
    public var supervisor: SupervisorSettings

    public func service(_ kind: ServiceKind) -> ServiceSettings {
        services[kind] ?? ServiceSettings(kind: kind)
    }
}

public struct SystemSettings: Sendable {
    public enum TradingMode: String, Sendable, CaseIterable {
        case paper, testnet, live
    }
    /// Names this deployment in logs, metrics and alerts.
    public var instance: String
    public var mode: TradingMode
    /// Where services keep local state (snapshots, disk buffers, supervisor state).
    public var stateDirectory: String
}

public struct LogSettings: Sendable {
    public enum Level: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }
    public var level: Level
}

public struct HTTPSettings: Sendable {
    /// The address every service binds; loopback unless a reverse proxy fronts the system.
    public var host: String
    /// The longest a request body may be.
    public var maxBodyBytes: Int
}

public struct RedisSettings: Sendable {
    public var host: String
    public var port: Int
    public var database: Int
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    public var reconnectInitialDelay: Duration
    public var reconnectMaxDelay: Duration
    /// Name of the secret holding the Redis password (see ``SecretStore``); none when empty.
    public var passwordSecret: String?
}

public struct PostgresSettings: Sendable {
    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    public var passwordSecret: String?
    public var poolSize: Int
    public var connectTimeout: Duration
}

public struct ExchangeSettings: Sendable {
    /// Base URL of the Binance-compatible REST API: the simulator in paper mode.
    public var baseURL: String
}

public struct HealthSettings: Sendable {
    /// The longest one dependency check (Redis PING, PostgreSQL SELECT 1) may take.
    public var checkTimeout: Duration
}

public struct ServiceSettings: Sendable {
    public var kind: ServiceKind
    public var port: Int
    /// Whether the supervisor runs this service.
    public var enabled: Bool
    public var shutdownTimeout: Duration

    public init(kind: ServiceKind, port: Int? = nil, enabled: Bool = true, shutdownTimeout: Duration = .seconds(10)) {
        self.kind = kind
        self.port = port ?? kind.defaultPort
        self.enabled = enabled
        self.shutdownTimeout = shutdownTimeout
    }
}

public struct SupervisorSettings: Sendable {
    /// The delay before restarting a child that exited.
    public var restartDelay: Duration
    /// The path of the `vakt` binary children are started from; the supervisor's own by default.
    public var executable: String?
}

extension VaktConfiguration {
    /// Reads the configuration from a parsed tree, reporting every problem at once.
    public init(reading root: ConfigReader.Section) {
        let systemSection = root.section("system")
        system = SystemSettings(
            instance: systemSection.string("instance", default: "vakt"),
            mode: systemSection.choice("mode", default: .paper),
            stateDirectory: systemSection.string("state_directory", default: "var/state")
        )
        systemSection.finish()

        let logSection = root.section("log")
        log = LogSettings(level: logSection.choice("level", default: .info))
        logSection.finish()

        let httpSection = root.section("http")
        http = HTTPSettings(
            host: httpSection.string("host", default: "127.0.0.1"),
            maxBodyBytes: httpSection.int("max_body_bytes", default: 1 << 20, in: 1024...(64 << 20))
        )
        httpSection.finish()

        let redisSection = root.section("redis")
        redis = RedisSettings(
            host: redisSection.string("host", default: "127.0.0.1"),
            port: redisSection.int("port", default: 6379, in: 1...65535),
            database: redisSection.int("database", default: 0, in: 0...15),
            connectTimeout: redisSection.duration("connect_timeout", default: .milliseconds(500), in: .milliseconds(10)...(.seconds(60))),
            commandTimeout: redisSection.duration("command_timeout", default: .seconds(1), in: .milliseconds(10)...(.seconds(60))),
            reconnectInitialDelay: redisSection.duration(
                "reconnect_initial_delay", default: .milliseconds(100), in: .milliseconds(1)...(.seconds(60))),
            reconnectMaxDelay: redisSection.duration("reconnect_max_delay", default: .seconds(5), in: .milliseconds(1)...(.seconds(600))),
            passwordSecret: redisSection.optionalString("password_secret")
        )
        if redis.reconnectMaxDelay < redis.reconnectInitialDelay {
            redisSection.report("reconnect_max_delay", "must not be shorter than reconnect_initial_delay")
        }
        redisSection.finish()

        let postgresSection = root.section("postgres")
        postgres = PostgresSettings(
            host: postgresSection.string("host", default: "127.0.0.1"),
            port: postgresSection.int("port", default: 5432, in: 1...65535),
            database: postgresSection.string("database", default: "vakt"),
            user: postgresSection.string("user", default: "vakt"),
            passwordSecret: postgresSection.optionalString("password_secret"),
            poolSize: postgresSection.int("pool_size", default: 8, in: 1...256),
            connectTimeout: postgresSection.duration("connect_timeout", default: .seconds(2), in: .milliseconds(10)...(.seconds(60)))
        )
        postgresSection.finish()

        let exchangeSection = root.section("exchange")
        let baseURL = exchangeSection.string("base_url", default: "http://127.0.0.1:\(ServiceKind.exchangeSim.defaultPort)")
        if !(baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://")) {
            exchangeSection.report("base_url", "expected an http:// or https:// URL, got \"\(baseURL)\"")
        }
        exchange = ExchangeSettings(baseURL: baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL)
        exchangeSection.finish()

        let healthSection = root.section("health")
        health = HealthSettings(
            checkTimeout: healthSection.duration("check_timeout", default: .seconds(1), in: .milliseconds(10)...(.seconds(30)))
        )
        healthSection.finish()

        let servicesSection = root.section("services")
        var services: [ServiceKind: ServiceSettings] = [:]
        var portOwners: [Int: ServiceKind] = [:]
        for kind in ServiceKind.allCases {
            let section = servicesSection.section(kind.rawValue)
            let settings = ServiceSettings(
                kind: kind,
                port: section.int("port", default: kind.defaultPort, in: 1...65535),
                enabled: section.bool("enabled", default: kind != .supervisor),
                shutdownTimeout: section.duration("shutdown_timeout", default: .seconds(10), in: .milliseconds(100)...(.seconds(300)))
            )
            if let owner = portOwners[settings.port] {
                section.report("port", "port \(settings.port) is already used by services.\(owner.rawValue)")
            }
            portOwners[settings.port] = kind
            services[kind] = settings
            section.finish()
        }
        for key in servicesSection.keys where ServiceKind(rawValue: key) == nil {
            let known = ServiceKind.allCases.map(\.rawValue).joined(separator: ", ")
            servicesSection.report(key, "unknown service; known services are \(known)")
            _ = servicesSection.section(key)
        }
        self.services = services

        let supervisorSection = root.section("supervisor")
        supervisor = SupervisorSettings(
            restartDelay: supervisorSection.duration("restart_delay", default: .seconds(1), in: .milliseconds(10)...(.seconds(600))),
            executable: supervisorSection.optionalString("executable")
        )
        supervisorSection.finish()

        root.finish()
    }
}
