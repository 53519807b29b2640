import AsyncHTTPClient
import Binance
import BinanceAdapter
import EmergencyStop
import EventBus
import Foundation
import HealthFormat
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import PolicyStore
import PostgresNIO
import RedisClient
import ServiceLifecycle
import SystemdNotify
import VaktConfig

/// Runs one service process from start to a clean exit.
public enum ServiceRuntime {
    /// Serves until SIGTERM or SIGINT, then shuts down within the service's `shutdown_timeout`.
    /// Returns normally after a graceful shutdown; throws if the service cannot start.
    public static func run(_ service: some VaktService, configuration: VaktConfiguration) async throws {
        let kind = service.kind
        let settings = configuration.service(kind)
        var logger = Logger(label: "vakt.\(kind.rawValue)")
        logger[metadataKey: "service"] = "\(kind.rawValue)"
        let secrets = SecretStore()
        let metrics = MetricsExposition.bootstrap(service: kind.rawValue, version: VaktVersion.current)
        let notify = NotifyClient(logger: logger)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(2))))

        let needs = kind.infrastructure
        let redis = needs.contains(.redis) ? RedisConnection(endpoint: redisEndpoint(configuration.redis, secrets: secrets)) : nil
        let postgres = needs.contains(.postgres) ? postgresClient(configuration.postgres, secrets: secrets, logger: logger) : nil
        var events: EventPublisher?
        if needs.contains(.redis) {
            // A connection of its own: publishing must not queue behind health checks.
            events = try await EventPublisher(
                redis: RedisConnection(endpoint: redisEndpoint(configuration.redis, secrets: secrets), label: "publisher"),
                settings: configuration.eventBus.forService(kind.rawValue), logger: logger)
        }
        let policy =
            (service.keepsPolicyCopy || service.usesTradingGuards)
            ? redis.map {
                PolicyReplica(
                    redis: $0, snapshotPath: configuration.policy.snapshotPath, refreshInterval: configuration.policy.refreshInterval,
                    agingLimit: configuration.policy.agingLimit, logger: logger)
            } : nil
        var guards: TradingGuards?
        if service.usesTradingGuards, let redis, let policy {
            guards = TradingGuards(policy: policy, ess: ESSClient(redis: redis, maxAge: configuration.ess.stateMaxAge, logger: logger))
        }
        let exchangeBudget = needs.contains(.exchange) ? try ExchangeAccess.budget(configuration, secrets: secrets, logger: logger) : nil
        let context = ServiceContext(
            kind: kind, configuration: configuration, logger: logger, redis: redis, events: events, policy: policy, guards: guards,
            postgres: postgres, exchangeBudget: exchangeBudget, httpClient: httpClient, metrics: metrics, notify: notify, secrets: secrets,
            startedAt: .now)

        var checks: [any HealthCheck] = [UptimeCheck(startedAt: context.startedAt)]
        if let redis { checks.append(RedisPingCheck(connection: redis)) }
        if let events { checks.append(EventBufferCheck(publisher: events)) }
        if let postgres { checks.append(PostgresPingCheck(client: postgres)) }
        if let policy { checks.append(PolicyAgeCheck(replica: policy)) }
        if let guards { checks += guards.healthChecks }
        if needs.contains(.exchange) {
            let clock = configuration.exchangeClock
            checks.append(
                ExchangePingCheck(
                    baseURL: configuration.exchange.baseURL, httpClient: httpClient,
                    budget: exchangeBudget,
                    clock: ScaledClock(origin: clock.origin ?? ScaledClock.wall(), rate: clock.rate)))
        }
        let serviceId = "\(configuration.system.instance)/\(kind.rawValue)"
        let started = StartupGate<StartedService>()
        // Until start-up has finished, /health shows the infrastructure and says it is starting.
        let startingChecker = HealthChecker(
            checks: checks + [StartupCheck(started: { started.value != nil })], timeout: configuration.health.checkTimeout,
            serviceId: serviceId, version: VaktVersion.current)

        let standard = Router(context: BasicRequestContext.self)
        standard.middlewares.add(MetricsMiddleware())
        standard.addStandardRoutes(
            health: { started.value?.health ?? startingChecker }, metrics: metrics, render: { started.value?.parts.renderMetrics },
            aggregate: { started.value?.parts.aggregateHealth })

        let port = settings.port ?? kind.defaultPort
        let address = "\(configuration.http.host):\(port)"
        let serviceLogger = logger
        let application = Application(
            responder: StartupResponder(service: kind.rawValue, standard: standard.buildResponder(), started: started),
            // Plain HTTP/1.1, upgraded to a WebSocket where the service's parts accept it.
            server: .http1WebSocketUpgrade { request, _, _ in
                guard let upgrade = started.value?.parts.webSocket else { return .dontUpgrade }
                return await upgrade(request)
            },
            configuration: .init(address: .hostname(configuration.http.host, port: port), serverName: "vakt-\(kind.rawValue)"),
            onServerRunning: { _ in
                serviceLogger.info("serving", metadata: ["address": "\(address)", "version": "\(VaktVersion.current)"])
                // READY=1 must not wait inside the server's start-up; report from a task of its own,
                // once the service's own start-up phase has finished.
                Task {
                    let parts = await started.wait().parts
                    let status = await parts.readiness?() ?? "\(kind.rawValue) serving on \(address)"
                    await notify.ready(status: status)
                    if let updates = parts.statusUpdates {
                        for await line in updates { await notify.status(line) }
                    }
                }
            },
            logger: logger
        )

        // ServiceGroup stops services one by one in reverse order: the HTTP server last, so
        // /health answers throughout, and the STOPPING=1 notifier first.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: application)]
        if let postgres { services.append(.init(service: postgres)) }
        if let interval = notify.watchdogInterval() {
            logger.info("watchdog enabled", metadata: ["interval_ms": "\(interval.milliseconds)"])
            services.append(
                .init(
                    service: WatchdogPinger(
                        notify: notify, interval: interval, isMakingProgress: { started.value?.parts.isMakingProgress() ?? true },
                        logger: logger)))
        }
        if let policy {
            services.append(.init(service: UntilShutdown { await policy.run() }))
            services.append(.init(service: context.subscribe(to: [.policyUpdated], role: "policy") { try policy.handle($0) }))
        }
        services += (guards?.services(context: context) ?? []).map { .init(service: $0) }
        services.append(
            .init(
                service: StartupPhase(
                    service: service, context: context, infrastructureChecks: checks, started: started, logger: logger)))
        services.append(.init(service: ShutdownNotifier(notify: notify, kind: kind), successTerminationBehavior: .ignore))

        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = service.shutdownLimit(configuration)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try? await httpClient.shutdown()
        logger.info("stopped")
    }

    public static func redisEndpoint(_ settings: RedisSettings, secrets: SecretStore) -> RedisEndpoint {
        RedisEndpoint(
            host: settings.host, port: settings.port, database: settings.database,
            password: settings.passwordSecret.flatMap { secrets.secret(named: $0)?.value },
            connectTimeout: settings.connectTimeout, commandTimeout: settings.commandTimeout,
            reconnectInitialDelay: settings.reconnectInitialDelay, reconnectMaxDelay: settings.reconnectMaxDelay,
            spinWait: settings.spinWait, sentinels: settings.sentinels.map { .init(host: $0.host, port: $0.port) },
            primaryName: settings.primaryName)
    }

    public static func postgresClient(_ settings: PostgresSettings, secrets: SecretStore, logger: Logger) -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user,
            password: settings.passwordSecret.flatMap { secrets.secret(named: $0)?.value }, database: settings.database,
            tls: .disable)
        configuration.options.maximumConnections = settings.poolSize
        configuration.options.connectTimeout = settings.connectTimeout
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}

extension Router where Context == BasicRequestContext {
    /// `GET /health` (application/health+json, 503 on fail) and `GET /metrics` (Prometheus text).
    /// Each request asks for the checker, the metrics renderer and the health aggregator anew:
    /// they change once the service's start-up phase has finished.
    public func addStandardRoutes(
        health: @escaping @Sendable () -> HealthChecker, metrics: MetricsExposition,
        render: @escaping @Sendable () -> (@Sendable (_ own: [UInt8]) async -> [UInt8])? = { nil },
        aggregate: @escaping @Sendable () -> (@Sendable (_ own: HealthReport) async -> HealthReport)? = { nil }
    ) {
        get("/health") { _, _ -> Response in
            let own = await health().report()
            let report = await aggregate()?(own) ?? own
            return Response(
                status: .init(code: report.httpStatusCode),
                headers: [.contentType: HealthReport.mediaType, .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(data: report.encoded())))
        }
        get("/metrics") { _, _ -> Response in
            let own = metrics.render()
            let body = await render()?(own) ?? own
            return Response(
                status: .ok, headers: [.contentType: MetricsExposition.contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}

/// Sends `STOPPING=1` as soon as graceful shutdown begins.
struct ShutdownNotifier: ServiceLifecycle.Service {
    let notify: NotifyClient
    let kind: ServiceKind

    func run() async throws {
        try? await gracefulShutdown()
        await notify.stopping(status: "\(kind.rawValue) shutting down")
    }
}

/// Pings the watchdog at half the interval the manager asked for, as sd_watchdog_enabled(3)
/// advises, but only while the service reports progress: a blind timer would keep a wedged
/// service alive.
struct WatchdogPinger: ServiceLifecycle.Service {
    let notify: NotifyClient
    let interval: Duration
    let isMakingProgress: @Sendable () -> Bool
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var withheld = false
            while true {
                if isMakingProgress() {
                    await notify.watchdogPing()
                    withheld = false
                } else if !withheld {
                    logger.error("no progress; withholding the watchdog ping so the manager restarts this process")
                    withheld = true
                }
                try await Task.sleep(for: interval / 2)
            }
        }
    }
}
