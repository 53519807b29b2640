// Supervisor: the Monitoring & Health service (8005) and parent of every other service. It
// starts each enabled service as a child in dependency order, hands it a NOTIFY_SOCKET it
// owns, tracks readiness and the watchdog, forwards output, reaps and classifies every exit,
// restarts with backoff within a restart intensity, and stops everything in reverse order.
// Its control API and `vakt status|start|stop|restart` let an operator see and steer it.

import EventBus
import Foundation
import Hummingbird
import Logging
import ServiceKit
import ServiceLifecycle
import VaktConfig

/// `vakt supervisor`.
public struct SupervisorService: VaktService {
    public let kind = ServiceKind.supervisor
    let configurationPath: String

    /// - Parameter configurationPath: the file children are started with, so that the whole
    ///   system runs from the one file the supervisor was given.
    public init(configurationPath: String) {
        self.configurationPath = configurationPath
    }

    /// Its own `stop_timeout` after the children's: they stop first, level by level, each
    /// within its own. Cut short, its HTTP server and health mesh would be cancelled while
    /// children still stop, and `vakt status` would go dark for the rest of the stop.
    public func shutdownLimit(_ configuration: VaktConfiguration) -> Duration {
        configuration.service(kind).stopTimeout + StartOrder.stopDuration(configuration.supervisedServices)
    }

    public func makeParts(context: ServiceContext) async throws -> ServiceParts {
        let supervisor = try Supervisor(context: context, configurationPath: configurationPath)
        let token = context.secrets.secret(named: context.configuration.supervisor.controlTokenSecret)
        if token == nil {
            context.logger.warning(
                "no control token configured; the control API refuses every change",
                metadata: ["secret": "\(SecretStore.variable(for: context.configuration.supervisor.controlTokenSecret))"])
        }
        let authenticator = ControlAuthenticator(
            token: token, failuresPerMinute: context.configuration.http.authFailuresPerMinute, logger: context.logger)
        let lagMonitor = context.redis.map {
            ConsumerLagMonitor(
                redis: $0, windowSize: context.configuration.lag.window, stoppedAfter: context.configuration.lag.stoppedAfter)
        }
        let mesh = try await HealthMeshService(context: context, supervisor: supervisor, lag: lagMonitor)
        let aggregator = MetricsAggregator(settings: context.configuration.metrics, httpClient: context.httpClient, logger: context.logger)
        let instance = "\(context.configuration.http.host):\(context.settings.port ?? ServiceKind.supervisor.defaultPort)"
        // The watchdog interval systemd gave us bounds how stale the heartbeat may get.
        let progressLimit = (context.notify.watchdogInterval() ?? .seconds(10)) + .seconds(2)
        return ServiceParts(
            addRoutes: { router in
                ControlAPI(
                    supervisor: supervisor, authenticator: authenticator, lag: lagMonitor, safety: mesh.driver, logger: context.logger
                )
                .addRoutes(to: router)
                mesh.addRoutes(to: router)
            },
            healthChecks: [ChildrenCheck(supervisor: supervisor)] + (lagMonitor.map { [ConsumerLagCheck(monitor: $0)] } ?? []),
            backgroundServices: [
                SupervisorLoop(supervisor: supervisor),
                mesh,
                ScrapeLoop.service(supervisor: supervisor, aggregator: aggregator, configuration: context.configuration),
            ]
                + (lagMonitor.map { monitor in [PeriodicService(every: context.configuration.lag.interval) { await monitor.sample() }] }
                    ?? []),
            readiness: { await supervisor.readiness() },
            statusUpdates: supervisor.statusUpdates,
            isMakingProgress: { supervisor.isMakingProgress(within: progressLimit) },
            renderMetrics: { own in await aggregator.render(own: own, service: "supervisor", instance: instance) },
            aggregateHealth: { own in mesh.aggregate(own) }
        )
    }
}

struct SupervisorLoop: ServiceLifecycle.Service {
    let supervisor: Supervisor

    func run() async throws {
        await supervisor.run()
    }
}

/// The children's state in the supervisor's `/health`: `fail` when a critical child has given
/// up restarting (trading cannot be safe), `warn` while any child is not ready.
struct ChildrenCheck: HealthCheck {
    let supervisor: Supervisor
    let key = "children:ready"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let snapshots = await supervisor.snapshots()
        let line = Supervisor.statusLine(snapshots)
        let failedCritical = snapshots.filter { $0.critical && $0.state == .failed }.map(\.name)
        let notReady = snapshots.filter { !$0.ready && $0.state != .stopped }.map(\.name)
        let value = Double(snapshots.filter(\.ready).count)
        if !failedCritical.isEmpty {
            return HealthMeasurement(
                status: .fail, value: value, output: "\(line); critical children failed: \(failedCritical.joined(separator: ", "))")
        }
        if !notReady.isEmpty {
            return HealthMeasurement(status: .warn, value: value, output: "\(line); not ready: \(notReady.joined(separator: ", "))")
        }
        return HealthMeasurement(value: value, output: line)
    }
}
