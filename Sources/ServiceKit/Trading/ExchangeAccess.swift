import AsyncHTTPClient
import Binance
import BinanceAdapter
import EventBus
import Foundation
import HealthFormat
import Logging
import Metrics
import RedisClient
import ServiceLifecycle
import Synchronization
import VaktConfig

/// A trading service's way to the exchange: the Binance adapter built from the configuration
/// and the secrets, on the host's shared request budget, connected at start-up (retrying until
/// the exchange answers), with its state in `/health`; and a ban (418), which stops all
/// trading for hours, turned into an ESS trip request to the risk service and an event (unless
/// `execution.on_binance_down` is failover: execution moves new orders to the second venue).
///
/// Run it as a background service; ``client`` is usable once ``isConnected``.
public final class ExchangeAccess: ServiceLifecycle.Service, Sendable {
    public let client: BinanceClient
    /// The account's API key and secret, when configured (the user data stream signs with them).
    public let credentials: BinanceClient.Credentials?
    /// The request budget this process reserves from (shared with the host, or the hosts behind
    /// its public IP).
    public let budget: any RequestBudgetStore
    private let connected = Mutex(false)
    private let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let logger: Logger
    /// The budget's least margin at a window's edge, ms of the exchange's clock.
    private let guardTime: Int64

    public init(context: ServiceContext) throws {
        let configuration = context.configuration
        let settings = configuration.exchange
        let credentials = Self.credentials(configuration, context.secrets)
        self.credentials = credentials
        if credentials == nil {
            context.logger.warning(
                "no exchange API key; only public market data can be read",
                metadata: ["secrets": "\(settings.apiKeySecret), \(settings.apiSecretSecret)"])
        }
        guardTime = settings.budgetGuard.milliseconds
        let risk = RiskClient(
            ControlClient(
                baseURL: configuration.baseURL(of: .risk),
                token: context.secrets.secret(named: configuration.ess.controlTokenSecret),
                tokenSecret: configuration.ess.controlTokenSecret))
        let events = context.events
        let source = "\(configuration.system.instance)/\(context.kind.rawValue)/exchange"
        let logger = context.logger
        self.logger = logger
        let budget = try context.exchangeBudget ?? Self.budget(configuration, secrets: context.secrets, logger: logger)
        self.budget = budget
        let failsOver = configuration.execution.onBinanceDown == .failover
        client = Self.client(
            configuration, credentials: credentials, http: context.httpClient, budget: budget, logger: logger,
            incidents: { incident in
                guard case .banned(let until, let message) = incident else { return }
                guard !failsOver else {
                    // Execution places new orders on the second venue meanwhile (or holds them
                    // while any order here is unreconciled): the ban is its to handle.
                    logger.warning(
                        "banned by binance; not tripping the ESS: execution.on_binance_down is failover",
                        metadata: ["until": "\(until)", "message": "\(message)"])
                    return
                }
                // Not awaited: the request that met the ban returns at once. With the risk
                // service down the report can take its client's whole retry budget (90 s seen),
                // and the adapter's reconnection waited behind it after the ban had ended.
                Task { await Self.reportBan(until: until, message: message, risk: risk, events: events, source: source, logger: logger) }
            })
    }

    /// The account's API key and secret from the secrets `exchange.api_key_secret` and
    /// `exchange.api_secret_secret` name; none unless both are set.
    public static func credentials(_ configuration: VaktConfiguration, _ secrets: SecretStore) -> BinanceClient.Credentials? {
        let settings = configuration.exchange
        let key = secrets.secret(named: settings.apiKeySecret)
        let secret = secrets.secret(named: settings.apiSecretSecret)
        return key.flatMap { key in secret.map { BinanceClient.Credentials(apiKey: key.value, secret: $0.value) } }
    }

    /// The request budget `configuration` names: the host's file (`exchange.budget_file`), or,
    /// with `exchange.budget_redis_key`, the one the hosts behind a public IP share in Redis
    /// (its own connection: a reservation must not queue behind a blocking read), with the
    /// file at `exchange.budget_fallback_share` of each limit while Redis is out of reach.
    public static func budget(_ configuration: VaktConfiguration, secrets: SecretStore, logger: Logger) throws -> any RequestBudgetStore {
        let settings = configuration.exchange
        let guardTime = settings.budgetGuard.milliseconds
        guard let key = settings.budgetRedisKey else {
            // Never cut off from a budget it does not share.
            Gauge(label: "vakt_exchange_budget_cut_off").record(0)
            return try SharedRequestBudget(path: settings.budgetFile, guardTime: guardTime)
        }
        return RedisRequestBudget(
            redis: RedisConnection(endpoint: ServiceRuntime.redisEndpoint(configuration.redis, secrets: secrets), label: "budget"),
            key: key,
            fallback: try SharedRequestBudget(path: settings.budgetFile, guardTime: guardTime, share: settings.budgetFallbackShare),
            guardTime: guardTime, logger: logger)
    }

    /// The adapter as `configuration` sets it up, on `budget` (a command-line tool's requests
    /// count against the same limits as the services').
    public static func client(
        _ configuration: VaktConfiguration, credentials: BinanceClient.Credentials?, http: HTTPClient, budget: any RequestBudgetStore,
        logger: Logger, incidents: @escaping @Sendable (ExchangeIncident) async -> Void = { _ in }
    ) -> BinanceClient {
        let settings = configuration.exchange
        return BinanceClient(
            settings: .init(
                baseURL: settings.baseURL, recvWindow: settings.recvWindow.milliseconds, requestTimeout: settings.requestTimeout),
            credentials: credentials, http: http, budget: budget,
            clock: ScaledClock(origin: configuration.exchangeClock.origin ?? ScaledClock.wall(), rate: configuration.exchangeClock.rate),
            logger: logger, incidents: incidents)
    }

    /// A ban stops every request until it ends: trading cannot go on, so the ESS trips.
    public static func reportBan(until: Int64, message: String, risk: RiskClient, events: EventPublisher?, source: String, logger: Logger)
        async
    {
        let reason = "the exchange banned this IP (HTTP 418) until \(Date(timeIntervalSince1970: Double(until) / 1000)): \(message)"
        if let events {
            let request = ESSTripRequested(
                rule: "exchange-banned", condition: "HTTP 418 from the exchange", reason: reason, since: Date(), source: source)
            try? await events.publish(EventEnvelope(request, source: source))
        }
        do {
            _ = try await risk.change(.trip, reason: reason, source: source)
            logger.critical("ESS trip requested: exchange ban", metadata: ["until": "\(until)"])
        } catch {
            logger.critical("could not ask the risk service for an ESS trip after an exchange ban", metadata: ["error": "\(error)"])
        }
    }

    public var isConnected: Bool { connected.withLock { $0 } }

    private func releaseWaiters() {
        let waiters = waiting.withLock { waiters in
            defer { waiters = [] }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the adapter has connected (at once if it has), or the service stops.
    public func waitUntilConnected() async {
        await withCheckedContinuation { continuation in
            let now = connected.withLock { isConnected in
                if !isConnected { waiting.withLock { $0.append(continuation) } }
                return isConnected
            }
            if now { continuation.resume() }
        }
    }

    /// How often the clock offset is measured again once connected: a quieter moment than
    /// start-up's may measure it more closely, which narrows the edges of the budget's windows.
    /// Sooner while it is less certain than the budget's guard.
    static let clockResynchronization = (uncertain: Duration.seconds(30), certain: Duration.seconds(300))

    /// Connects (exchangeInfo, the clock), 1 s doubling to 30 s between attempts, then
    /// measures the clock again (``clockResynchronization``) until shutdown.
    public func run() async throws {
        // Whoever waits is let go at shutdown too, connected or not.
        defer { releaseWaiters() }
        var delay = Duration.seconds(1)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await client.connect()
                connected.withLock { $0 = true }
                releaseWaiters()
                break
            } catch {
                logger.warning("exchange not reachable; retrying", metadata: ["error": "\(error)", "retry_ms": "\(delay.milliseconds)"])
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                delay = min(delay * 2, .seconds(30))
            }
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let uncertain = client.clockUncertainty > guardTime
            let wait = uncertain ? Self.clockResynchronization.uncertain : Self.clockResynchronization.certain
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                break
            }
            do {
                try await client.synchronizeClock(samples: 3)
            } catch {
                logger.warning("could not measure the exchange's clock again", metadata: ["error": "\(error)"])
            }
        }
    }

    /// `exchange:budget` in `/health`: fails while banned, warns until connected, otherwise
    /// passes with the most used limit's share.
    public var healthCheck: any HealthCheck { BudgetCheck(access: self) }

    struct BudgetCheck: HealthCheck {
        let access: ExchangeAccess
        let key = "exchange:budget"
        let componentType = "system"

        func measure() async throws -> HealthMeasurement {
            let status = await access.client.status()
            access.client.recordUsage(status.used)
            let usage = status.used.map {
                "\($0.limit.kind.rawValue)/\($0.limit.intervalNum)\($0.limit.interval.rawValue) \($0.count)/\($0.limit.limit)"
            }
            .joined(separator: ", ")
            if status.bannedUntil > status.now {
                return HealthMeasurement(status: .fail, output: "banned by the exchange (418) until \(status.bannedUntil)")
            }
            guard access.isConnected else {
                return HealthMeasurement(status: .warn, output: "not connected to the exchange: \(status.lastFailure ?? "connecting")")
            }
            let share = status.used.map { Double($0.count) / Double(max($0.limit.limit, 1)) * 100 }.max() ?? 0
            var problems = status.pausedUntil > status.now ? "; paused after a 429 until \(status.pausedUntil)" : ""
            if let shared = access.budget as? RedisRequestBudget, let since = shared.cutOffSince {
                problems += "; the shared budget in Redis (\(shared.key)) out of reach since \(since): keeping to this host's share"
            }
            return HealthMeasurement(status: problems.isEmpty ? .pass : .warn, value: share, unit: "%", output: usage + problems)
        }
    }
}
