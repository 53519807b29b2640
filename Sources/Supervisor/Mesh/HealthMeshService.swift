import Alerting
import AsyncHTTPClient
import EmergencyStop
import EventBus
import Foundation
import HealthFormat
import HealthMesh
import Hummingbird
import Logging
import PostgresNIO
import RedisClient
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// The supervisor's health mesh, assembled from the configuration: probes for every service
/// with a port, for the infrastructure they use and for the extra HTTP targets; the safety
/// driver; the alert pipeline with its outbox and delivery.
struct HealthMeshService: ServiceLifecycle.Service {
    let monitor: MeshMonitor
    let driver: SafetyDriver
    let delivery: NotificationDelivery
    let childChanges: AsyncStream<Void>
    let prober: Prober
    let postgres: PostgresClient?
    let redis: RedisConnection?
    let ess: ESSClient?

    init(context: ServiceContext, supervisor: Supervisor, lag: ConsumerLagMonitor?) async throws {
        let configuration = context.configuration
        let clock: @Sendable () -> Date = { Date() }
        let graph = MeshGraph(configuration: configuration)
        let host = configuration.http.host
        let needs = Set(graph.nodes.filter { $0.kind == .dependency }.map(\.name))
        redis =
            needs.contains(Infrastructure.redis.rawValue)
            ? RedisConnection(endpoint: ServiceRuntime.redisEndpoint(configuration.redis, secrets: context.secrets), label: "probe") : nil
        postgres =
            needs.contains(Infrastructure.postgres.rawValue)
            ? ServiceRuntime.postgresClient(configuration.postgres, secrets: context.secrets, logger: context.logger) : nil
        let prober = Prober()
        self.prober = prober
        var targets: [MeshMonitor.Target] = []
        for settings in configuration.supervisedServices {
            guard let port = settings.port else { continue }
            targets.append(
                .init(
                    name: settings.name, method: .healthEndpoint(prober.httpTarget("http://\(host):\(port)/health")),
                    settings: configuration.health.probe(for: settings.name), restartAfterFailures: settings.restartAfterFailedProbes))
        }
        if let redis {
            targets.append(
                .init(
                    name: "redis", method: .dependencyCheck(RedisPingCheck(connection: redis)),
                    settings: configuration.health.probe(for: "redis")))
        }
        if let postgres {
            targets.append(
                .init(
                    name: "postgres", method: .dependencyCheck(PostgresPingCheck(client: postgres)),
                    settings: configuration.health.probe(for: "postgres")))
        }
        if needs.contains(Infrastructure.exchange.rawValue) {
            targets.append(
                .init(
                    name: "exchange", method: .exchangePing(prober.httpTarget(configuration.exchange.baseURL + "/api/v3/ping")),
                    settings: configuration.health.probe(for: "exchange")))
        }
        for (name, url) in configuration.health.httpTargets.sorted(by: { $0.key < $1.key }) {
            targets.append(
                .init(name: name, method: .healthEndpoint(prober.httpTarget(url)), settings: configuration.health.probe(for: name)))
        }

        let registry = context.metrics.registry
        let tokenSecret = configuration.ess.controlTokenSecret
        driver = SafetyDriver(
            settings: configuration.safety,
            risk: RiskClient(
                ControlClient(
                    baseURL: configuration.baseURL(of: .risk), token: context.secrets.secret(named: tokenSecret), tokenSecret: tokenSecret)),
            supervisor: supervisor, recordPath: supervisor.safetyHoldPath,
            events: context.events,
            registry: registry, logger: context.logger, clock: clock)
        let (outbox, state) = try await AlertOutbox.open(path: configuration.alerts.outboxPath)
        delivery = NotificationDelivery(
            outbox: outbox, settings: configuration.alerts, secrets: context.secrets, httpClient: context.httpClient, registry: registry,
            logger: context.logger, clock: clock)
        let pipeline = AlertPipeline(
            outbox: outbox, state: state, delivery: delivery, settings: configuration.alerts, instance: configuration.system.instance,
            events: context.events,
            registry: registry, logger: context.logger)
        ess = context.redis.map { ESSClient(redis: $0, maxAge: configuration.ess.stateMaxAge, logger: context.logger) }
        let meshAlerts = MeshAlerts(
            instance: configuration.system.instance, externalURL: configuration.alerts.externalURL,
            runbookURL: configuration.alerts.runbookURL)
        monitor = MeshMonitor(
            graph: graph, targets: targets, rules: configuration.safety.rules,
            dependencies: .init(
                supervisor: supervisor, prober: prober, driver: driver, alerts: pipeline, meshAlerts: meshAlerts, lag: lag, ess: ess,
                redis: redis,
                events: context.events, registry: registry, logger: context.logger, clock: clock))
        childChanges = supervisor.childChanges
        context.logger.info(
            "health mesh",
            metadata: [
                "targets": "\(targets.map(\.name).joined(separator: ","))",
                "rules": "\(configuration.safety.rules.map(\.name).joined(separator: ","))",
                "receivers": "\(configuration.alerts.receivers.map(\.name).joined(separator: ","))",
            ])
    }

    func run() async throws {
        let recordedHold = Task { await driver.resumeRecordedHold() }
        defer { recordedHold.cancel() }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let postgres { group.addTask { await postgres.run() } }
                group.addTask { await delivery.run() }
                if let ess { group.addTask { await ess.run() } }
                group.addTask { await monitor.run(childChanges: childChanges) }
                await group.next()
                group.cancelAll()
            }
        }
        await prober.shutdown()
    }

    /// `GET /api/mesh`.
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/api/mesh") { _, _ -> Response in
            guard let report = monitor.report else {
                return JSONResponse.error(.serviceUnavailable, "the health mesh has not been evaluated yet")
            }
            return JSONResponse.make(.ok, report)
        }
    }

    /// The supervisor's `/health`: its own checks and the mesh.
    func aggregate(_ own: HealthReport) -> HealthReport {
        guard let report = monitor.report else {
            var pending = own
            pending.status = max(own.status, .warn)
            pending.output = "the health mesh has not been evaluated yet"
            return pending
        }
        return report.aggregate(own)
    }
}
