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
    public var paperExchange: PaperExchangeSettings
    public var marketData: MarketDataSettings
    public var aiEngine: AIEngineSettings
    public var training: TrainingSettings
    public var execution: ExecutionSettings
    public var portfolio: PortfolioSettings
    public var gateway: GatewaySettings
    public var health: HealthSettings
    public var eventBus: EventBusSettings
    /// Every service and supervised program, Vakt services first in their canonical order.
    public var services: [ServiceSettings]
    public var supervisor: SupervisorSettings
    public var policy: PolicySettings
    public var ess: EmergencyStopSettings
    public var metrics: MetricsSettings
    public var lag: LagSettings
    /// When the supervisor requests an emergency stop.
    public var safety: SafetySettings
    public var alerts: AlertSettings

    public func service(_ kind: ServiceKind) -> ServiceSettings {
        services.first { $0.kind == kind } ?? ServiceSettings(kind: kind, mode: system.mode)
    }

    /// Where `kind` answers HTTP: its `url` when it runs on another host, otherwise on this
    /// host, `http://host:port` with its configured port or its default.
    public func baseURL(of kind: ServiceKind) -> String {
        service(kind).url ?? "http://\(http.host):\(service(kind).port ?? kind.defaultPort)"
    }

    public func service(named name: String) -> ServiceSettings? {
        services.first { $0.name == name }
    }

    /// The services the supervisor starts, in an order where each comes after its dependencies.
    public var supervisedServices: [ServiceSettings] {
        services.filter { $0.enabled && $0.kind != .supervisor }
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
    /// Failed authentications per minute on control endpoints before further ones get 429.
    public var authFailuresPerMinute: Int
}

public struct RedisSettings: Sendable {
    public var host: String
    public var port: Int
    public var database: Int
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    public var reconnectInitialDelay: Duration
    public var reconnectMaxDelay: Duration
    /// How long a caller waiting for Redis's answer to one command keeps its CPU before it
    /// sleeps (see docs/decisions.md); zero never spins.
    public var spinWait: Duration
    /// Name of the secret holding the Redis password (see ``SecretStore``); none when empty.
    public var passwordSecret: String?
    /// Redis Sentinels (`host:port`) to ask for the primary named ``primaryName``; when given,
    /// `host` and `port` are not used and clients follow a failover.
    public var sentinels: [(host: String, port: Int)] = []
    public var primaryName = "vakt"
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

extension VaktConfiguration {
    /// The exchange's clock for its clients: the paper exchange's (which may run fast, for
    /// soak tests) in paper mode, the wall clock otherwise.
    public var exchangeClock: (origin: Int64?, rate: Int) {
        system.mode == .paper ? (paperExchange.clockOrigin, paperExchange.clockRate) : (nil, 1)
    }
}

public struct ExchangeSettings: Sendable {
    /// Base URL of the Binance-compatible REST API: the simulator in paper mode.
    public var baseURL: String
    /// Binance's WebSocket API (user data stream) and market streams; by default the base
    /// URL's host with `ws://` (`wss://` for `https://`), as the paper exchange serves them.
    public var webSocketAPIURL: String
    public var streamURL: String
    public var recvWindow: Duration
    public var requestTimeout: Duration
    /// The request budget every process on the host shares (Binance's limits are per IP).
    public var budgetFile: String
    /// When set, the hosts behind one public IP share one budget in Redis under this key; each
    /// keeps to `budgetFallbackShare` of every limit in its own file while Redis is out of reach.
    public var budgetRedisKey: String?
    public var budgetFallbackShare: Double
    /// How far the server's clock may be from this host's reckoning of it.
    public var budgetGuard: Duration
    /// The secrets holding the API key and its HMAC secret.
    public var apiKeySecret: String
    public var apiSecretSecret: String
    /// The secrets holding the second venue's (OKX's) API key, secret key and passphrase.
    public var okxAPIKeySecret: String
    public var okxSecretKeySecret: String
    public var okxPassphraseSecret: String
}

public struct SupervisorSettings: Sendable {
    /// The path of the `vakt` binary children are started from; the supervisor's own by default.
    public var executable: String?
    /// Where the supervisor records its children, to find them after it was killed.
    public var stateDirectory: String
    /// How long the supervisor waits for its critical children before reporting READY anyway,
    /// with a STATUS= that names what is not ready.
    public var readyTimeout: Duration
    /// Name of the secret holding the control API token.
    public var controlTokenSecret: String
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
            maxBodyBytes: httpSection.int("max_body_bytes", default: 1 << 20, in: 1024...(64 << 20)),
            authFailuresPerMinute: httpSection.int("auth_failures_per_minute", default: 5, in: 1...10_000)
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
            spinWait: redisSection.duration("spin_wait", default: .microseconds(200), in: .zero...(.milliseconds(10))),
            passwordSecret: redisSection.optionalString("password_secret")
        )
        if redis.reconnectMaxDelay < redis.reconnectInitialDelay {
            redisSection.report("reconnect_max_delay", "must not be shorter than reconnect_initial_delay")
        }
        for (index, entry) in redisSection.stringList("sentinels", default: []).enumerated() {
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
                redisSection.report("sentinels[\(index)]", "\"\(entry)\" is not host:port")
                continue
            }
            redis.sentinels.append((String(parts[0]), port))
        }
        redis.primaryName = redisSection.string("primary_name", default: "vakt")
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
        let budgetRedisKey = exchangeSection.optionalString("budget_redis_key")
        if let budgetRedisKey, budgetRedisKey.isEmpty || budgetRedisKey.contains(where: \.isWhitespace) {
            exchangeSection.report("budget_redis_key", "a Redis key without spaces is expected, got \"\(budgetRedisKey)\"")
        }
        let baseURL =
            exchangeSection.optionalHTTPURL("base_url") ?? "http://127.0.0.1:\(ServiceKind.exchangeSim.defaultPort)"
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        let webSocketBase = base.replacingOccurrences(of: "https://", with: "wss://").replacingOccurrences(of: "http://", with: "ws://")
        exchange = ExchangeSettings(
            baseURL: base, webSocketAPIURL: exchangeSection.optionalString("websocket_api_url") ?? webSocketBase + "/ws-api/v3",
            streamURL: exchangeSection.optionalString("stream_url") ?? webSocketBase,
            recvWindow: exchangeSection.duration("recv_window", default: .seconds(5), in: .milliseconds(100)...(.seconds(60))),
            requestTimeout: exchangeSection.duration("request_timeout", default: .seconds(10), in: .milliseconds(100)...(.seconds(120))),
            budgetFile: exchangeSection.optionalString("budget_file") ?? system.stateDirectory + "/exchange-budget",
            budgetRedisKey: budgetRedisKey,
            budgetFallbackShare: exchangeSection.double("budget_fallback_share", default: 0.5, in: 0.01...1),
            budgetGuard: exchangeSection.duration("budget_guard", default: .milliseconds(100), in: .zero...(.seconds(5))),
            apiKeySecret: exchangeSection.string("api_key_secret", default: "exchange-api-key"),
            apiSecretSecret: exchangeSection.string("api_secret_secret", default: "exchange-api-secret"),
            okxAPIKeySecret: exchangeSection.string("okx_api_key_secret", default: "okx-api-key"),
            okxSecretKeySecret: exchangeSection.string("okx_secret_key_secret", default: "okx-secret-key"),
            okxPassphraseSecret: exchangeSection.string("okx_passphrase_secret", default: "okx-passphrase"))
        exchangeSection.finish()
        paperExchange = PaperExchangeSettings(reading: root.section("paper_exchange"))
        marketData = MarketDataSettings(reading: root.section("market_data"))
        aiEngine = AIEngineSettings(reading: root.section("ai_engine"), marketData: marketData)
        training = TrainingSettings(reading: root.section("training"))
        execution = ExecutionSettings(reading: root.section("execution"), marketData: marketData)
        portfolio = PortfolioSettings(reading: root.section("portfolio"))
        gateway = GatewaySettings(reading: root.section("gateway"))

        let healthSection = root.section("health")
        health = HealthSettings(reading: healthSection)

        eventBus = EventBusSettings(reading: root.section("event_bus"), stateDirectory: system.stateDirectory)

        let servicesSection = root.section("services")
        services = ServiceSettings.readAll(servicesSection, system: system)
        if let cycle = ServiceSettings.dependencyCycle(in: services) {
            servicesSection.report(cycle[0] + ".depends_on", "dependency cycle: " + cycle.joined(separator: " -> "))
        }
        let probeTargets = Set(services.map(\.name) + Infrastructure.allCases.map(\.rawValue) + health.httpTargets.keys)
        for name in health.httpTargets.keys.sorted()
        where services.contains(where: { $0.name == name }) || Infrastructure(rawValue: name) != nil {
            healthSection.section("http_targets").report(name, "a service or infrastructure of that name exists already")
        }
        for target in health.probes.keys.sorted() where !probeTargets.contains(target) {
            healthSection.section("probes").report(target, "unknown probe target; expected a service name or redis, postgres, exchange")
        }

        let supervisorSection = root.section("supervisor")
        supervisor = SupervisorSettings(
            executable: supervisorSection.optionalString("executable"),
            stateDirectory: supervisorSection.string("state_directory", default: system.stateDirectory + "/supervisor"),
            readyTimeout: supervisorSection.duration("ready_timeout", default: .seconds(60), in: .seconds(1)...(.seconds(3600))),
            controlTokenSecret: supervisorSection.string("control_token_secret", default: "control-token")
        )
        supervisorSection.finish()

        policy = PolicySettings(reading: root.section("policy"), stateDirectory: system.stateDirectory)
        ess = EmergencyStopSettings(reading: root.section("ess"))
        metrics = MetricsSettings(reading: root.section("metrics"))
        lag = LagSettings(reading: root.section("lag"))
        safety = SafetySettings(reading: root.section("safety"), services: services, httpTargets: Set(health.httpTargets.keys))
        let supervisorPort = services.first { $0.kind == .supervisor }?.port ?? ServiceKind.supervisor.defaultPort
        alerts = AlertSettings(
            reading: root.section("alerts"), stateDirectory: supervisor.stateDirectory,
            defaultExternalURL: "http://\(http.host):\(supervisorPort)")

        root.finish()
    }
}
