import AsyncHTTPClient
import BinanceAdapter
import EventBus
import Logging
import PolicyStore
import PostgresNIO
import RedisClient
import ServiceLifecycle
import SystemdNotify
import VaktConfig

/// What a running service is given: its configuration and the shared clients.
public struct ServiceContext: Sendable {
    public let kind: ServiceKind
    public let configuration: VaktConfiguration
    public let logger: Logger
    public let redis: RedisConnection?
    /// Publishes on the event bus; present for every service that uses Redis.
    public let events: EventPublisher?
    /// The service's copy of the risk policy; present for a service that keeps one or uses the
    /// trading guards.
    public let policy: PolicyReplica?
    /// The policy copy and the ESS reader a trading service asks before adding exposure;
    /// present when the service uses them.
    public let guards: TradingGuards?
    public let postgres: PostgresClient?
    /// The exchange request budget, for a service that calls the exchange: one per process.
    public let exchangeBudget: (any RequestBudgetStore)?
    public let httpClient: HTTPClient
    public let metrics: MetricsExposition
    public let notify: NotifyClient
    public let secrets: SecretStore
    public let startedAt: ContinuousClock.Instant

    public var settings: ServiceSettings { configuration.service(kind) }

    /// A consumer of `types` for this service's consumer group, run with the service's
    /// lifecycle; add it to ``ServiceParts/backgroundServices``.
    /// `role` names the consumer within the group when a service runs more than one; `group`
    /// replaces the service's name as the group's (a service of which every instance must see
    /// every event).
    public func subscribe(
        to types: [EventType], role: String? = nil, group: String? = nil, handler: @escaping EventConsumer.Handler
    ) -> any ServiceLifecycle.Service {
        let consumer = EventConsumer(
            endpoint: ServiceRuntime.redisEndpoint(configuration.redis, secrets: secrets), group: group ?? kind.rawValue,
            consumer: "\(configuration.system.instance)/\(kind.rawValue)" + (role.map { "/\($0)" } ?? ""), types: types,
            settings: configuration.eventBus.forService(kind.rawValue), logger: logger, handler: handler)
        return UntilShutdown { await consumer.run() }
    }
}

/// Runs a loop that goes on until it is cancelled (a consumer, a refresher) as a service: it
/// is cancelled when graceful shutdown begins.
public struct UntilShutdown: ServiceLifecycle.Service {
    let body: @Sendable () async -> Void

    public init(_ body: @escaping @Sendable () async -> Void) { self.body = body }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
    }
}

/// Runs `body` once at start, then stays until shutdown (a service that returned would stop
/// the rest).
public struct OnceService: ServiceLifecycle.Service {
    let body: @Sendable () async -> Void

    public init(_ body: @escaping @Sendable () async -> Void) { self.body = body }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await body() }
        try? await gracefulShutdown()
    }
}

/// Runs `service` once `gate` opens; not at all if shutdown comes first. For a consumer whose
/// handler can do nothing until something else is ready (the portfolio's fills before its
/// ledger opened): every delivery counts towards dead-lettering, so one that could only wait
/// must not be taken yet. A process killed while waiting leaves its events to the next one.
public struct StartAfter<Value: Sendable>: ServiceLifecycle.Service {
    let gate: StartupGate<Value>
    let service: any ServiceLifecycle.Service

    public init(_ gate: StartupGate<Value>, run service: any ServiceLifecycle.Service) {
        self.gate = gate
        self.service = service
    }

    public func run() async throws {
        let opened = await cancelWhenGracefulShutdown { await gate.waitUnlessCancelled() }
        guard opened != nil, !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
        try await service.run()
    }
}
