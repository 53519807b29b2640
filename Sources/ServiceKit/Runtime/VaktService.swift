// ServiceKit: the runtime every Vakt process is built from. A service states its kind and
// builds its parts once (``VaktService/makeParts(context:)``); ``ServiceRuntime`` gives it
// configuration, structured logs, `/health` and `/metrics`, Redis and PostgreSQL clients,
// sd_notify readiness, status and watchdog, and graceful shutdown on SIGTERM/SIGINT.

import HealthFormat
import Hummingbird
import HummingbirdWebSocket
import ServiceLifecycle
import VaktConfig

/// What makes one service different from another; everything else is the runtime's.
public protocol VaktService: Sendable {
    var kind: ServiceKind { get }
    /// The service's PostgreSQL schema, applied in order before ``makeParts(context:)``; see
    /// ``MigrationRunner``.
    var migrations: [Migration] { get }
    /// Whether the service adds exposure and so asks ``TradingGuards`` (the policy copy and the
    /// ESS reader) before it does; it then finds them in ``ServiceContext/guards``.
    var usesTradingGuards: Bool { get }
    /// Whether the service keeps a copy of the risk policy without the guards (the risk service,
    /// its authority). Services with neither carry no policy copy.
    var keepsPolicyCopy: Bool { get }
    /// The service's start-up phase: builds its state and parts once the runtime's clients run
    /// (PostgreSQL pool, Redis, event bus) and its migrations are applied. Meanwhile `/health`
    /// and `/metrics` answer, its own routes answer 503 "starting", and `READY=1` waits. A
    /// service whose start-up needs its dependencies (stored state) throws when they are
    /// unreachable: the process exits non-zero and its manager restarts it with backoff.
    func makeParts(context: ServiceContext) async throws -> ServiceParts
    /// How long graceful shutdown may take before the runtime cancels what is left: the
    /// service's `stop_timeout`, unless stopping takes the service longer by design (the
    /// supervisor stops its children first).
    func shutdownLimit(_ configuration: VaktConfiguration) -> Duration
}

extension VaktService {
    public var migrations: [Migration] { [] }
    public var usesTradingGuards: Bool { false }
    public var keepsPolicyCopy: Bool { false }
    public func makeParts(context: ServiceContext) async throws -> ServiceParts { ServiceParts() }
    public func shutdownLimit(_ configuration: VaktConfiguration) -> Duration { configuration.service(kind).stopTimeout }
}

/// A service's own routes, checks, background work and sd_notify behaviour.
public struct ServiceParts: Sendable {
    /// Adds the service's endpoints; `/health` and `/metrics` are already there.
    public var addRoutes: @Sendable (Router<BasicRequestContext>) throws -> Void
    /// Checks beyond the infrastructure the service's kind declares.
    public var healthChecks: [any HealthCheck]
    /// Long-running work that lives and stops with the service.
    public var backgroundServices: [any ServiceLifecycle.Service]
    /// Returns when the service is ready, with the `STATUS=` text to send with `READY=1`;
    /// nil means ready as soon as the server listens.
    public var readiness: (@Sendable () async -> String)?
    /// `STATUS=` lines to send as the service's state changes.
    public var statusUpdates: AsyncStream<String>?
    /// Whether the service's own bookkeeping is making progress; the watchdog is pinged only
    /// while it is, so a wedged service is restarted by its manager.
    public var isMakingProgress: @Sendable () -> Bool
    /// Turns the process's own exposition into what `/metrics` serves; the supervisor adds
    /// every child's metrics. nil serves the process's own.
    public var renderMetrics: (@Sendable (_ own: [UInt8]) async -> [UInt8])?
    /// Turns the process's own health report into what `/health` serves; the supervisor adds
    /// the whole system's. nil serves the process's own.
    public var aggregateHealth: (@Sendable (_ own: HealthReport) async -> HealthReport)?
    /// Answers a WebSocket upgrade request: the handler of the connection, or `.dontUpgrade`
    /// (the request is then served as plain HTTP). nil: the service serves no WebSocket.
    public var webSocket: WebSocketUpgrade?

    public typealias WebSocketUpgrade =
        @Sendable (HTTPRequest) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>

    public init(
        addRoutes: @escaping @Sendable (Router<BasicRequestContext>) throws -> Void = { _ in },
        healthChecks: [any HealthCheck] = [],
        backgroundServices: [any ServiceLifecycle.Service] = [],
        readiness: (@Sendable () async -> String)? = nil,
        statusUpdates: AsyncStream<String>? = nil,
        isMakingProgress: @escaping @Sendable () -> Bool = { true },
        renderMetrics: (@Sendable (_ own: [UInt8]) async -> [UInt8])? = nil,
        aggregateHealth: (@Sendable (_ own: HealthReport) async -> HealthReport)? = nil,
        webSocket: WebSocketUpgrade? = nil
    ) {
        self.addRoutes = addRoutes
        self.healthChecks = healthChecks
        self.backgroundServices = backgroundServices
        self.readiness = readiness
        self.statusUpdates = statusUpdates
        self.isMakingProgress = isMakingProgress
        self.renderMetrics = renderMetrics
        self.aggregateHealth = aggregateHealth
        self.webSocket = webSocket
    }
}
