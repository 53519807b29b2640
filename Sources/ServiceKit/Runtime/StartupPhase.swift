import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VaktConfig

/// A service's start-up phase, run once the runtime's clients are running (the PostgreSQL
/// pool, Redis, the event bus) and the HTTP server answers `/health`: the service's migrations,
/// then its ``VaktService/makeParts(context:)``. Until both are done the service's own routes
/// answer 503 "starting" and `READY=1` is not sent; then its background work runs until
/// shutdown. A start-up that fails is logged with its reason and ends the process with an
/// error (non-zero exit), so that its manager restarts it with backoff.
struct StartupPhase: ServiceLifecycle.Service {
    let service: any VaktService
    let context: ServiceContext
    let infrastructureChecks: [any HealthCheck]
    let started: StartupGate<StartedService>
    let logger: Logger

    func run() async throws {
        let parts: ServiceParts
        let startedAt = ContinuousClock.now
        do {
            // A stop asked for during start-up ends it: there is nothing to shut down yet.
            parts = try await cancelWhenGracefulShutdown {
                try await migrate()
                return try await service.makeParts(context: context)
            }
        } catch {
            if Task.isShuttingDownGracefully {
                logger.notice("stopped during start-up", metadata: ["error": "\(error)"])
                return
            }
            logger.critical(
                "start-up failed; exiting so that the supervisor restarts this service",
                metadata: ["error": "\(PostgresErrorText.describe(error))"])
            throw error
        }
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(MetricsMiddleware())
        try parts.addRoutes(router)
        let configuration = context.configuration
        let health = HealthChecker(
            checks: infrastructureChecks + parts.healthChecks, timeout: configuration.health.checkTimeout,
            serviceId: "\(configuration.system.instance)/\(context.kind.rawValue)", version: VaktVersion.current)
        started.open(StartedService(parts: parts, health: health, routes: router.buildResponder()))
        logger.info("start-up finished", metadata: ["took_ms": "\((ContinuousClock.now - startedAt).milliseconds)"])

        guard !parts.backgroundServices.isEmpty else {
            try? await gracefulShutdown()
            return
        }
        // The service's own work, stopped (in reverse order) when the process shuts down.
        let group = ServiceGroup(
            configuration: .init(services: parts.backgroundServices.map { .init(service: $0) }, logger: logger))
        try await group.run()
    }

    private func migrate() async throws {
        let migrations = service.migrations
        guard !migrations.isEmpty else { return }
        guard let postgres = context.postgres else {
            throw MigrationError.badList("\(context.kind.rawValue) has migrations but does not use PostgreSQL")
        }
        let applied = try await MigrationRunner(service: context.kind.rawValue, migrations: migrations, client: postgres, logger: logger)
            .run()
        logger.info(
            "schema up to date",
            metadata: ["migrations": "\(migrations.count)", "applied_now": "\(applied.map(String.init).joined(separator: ","))"])
    }
}

/// `startup:phase` in `/health`: `warn` while the service's start-up phase runs.
struct StartupCheck: HealthCheck {
    let key = "startup:phase"
    let componentType = "component"
    let started: @Sendable () -> Bool

    func measure() async throws -> HealthMeasurement {
        started() ? HealthMeasurement(output: "started") : HealthMeasurement(status: .warn, output: "starting")
    }
}
