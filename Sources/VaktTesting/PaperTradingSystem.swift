import AsyncHTTPClient
import Binance
import BinanceAdapter
import EventBus
import Foundation
import Logging
import Money
import NIOHTTP1
import OKXAdapter
import PolicyStore
import RedisClient
import ServiceKit
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// The trading half as the system runs it, each service a real process on one Redis and one
/// PostgreSQL database: risk (the ESS and the policy), the paper exchange, market data (its
/// ticks are execution's and the portfolio's prices), execution and the portfolio; with an
/// event publisher to play the AI engine, and an adapter on the exchange's account to audit
/// what really happened there.
public final class PaperTradingSystem: @unchecked Sendable {
    public static let apiKey = "test-api-key-0123456789abcdefghijklmnop"
    public static let apiSecret = "test-api-secret-abcdefghijklmnopqrstuvwxyz"
    /// The paper exchange's OKX account (the second venue).
    public static let okxCredentials = OKXClient.Credentials(
        apiKey: "test-okx-key-0123456789", secretKey: "test-okx-secret-abcdefghijklmnop", passphrase: "test-okx-passphrase")

    public let risk: RiskSystem
    public let simulator: ServiceInstance
    public let marketData: ServiceInstance
    public let execution: ServiceInstance
    public let portfolio: ServiceInstance
    public let publisher: EventPublisher
    /// The account at the exchange, for audits.
    public let exchange: BinanceClient
    /// The paper exchange's OKX account, for audits (with `secondVenue`).
    public let okx: OKXClient?
    public let redis: RedisConnection
    let directory: URL

    /// - Parameters:
    ///   - policy: changes to the default policy (BTCUSDT only, the feed-age rule out of the way).
    ///   - sections: top-level YAML for every service, such as `execution:` settings.
    ///   - sentinels: a Redis primary and the Sentinels watching it, for every service to find
    ///     Redis through (and follow a failover), instead of a Redis of the risk fixture's own.
    ///   - secondVenue: the paper exchange's OKX account configured as the second venue
    ///     (`market_data.fallback` at the paper exchange, the OKX secrets given to every
    ///     service); `execution.on_binance_down` is the caller's to set in `sections`.
    public init(
        policy change: (inout RiskPolicy) -> Void = { _ in }, sections: String = "", persistentRedis: Bool = false,
        cluster: PostgresServer? = nil, sentinels: (primary: RedisServer, group: [RedisSentinel])? = nil, secondVenue: Bool = false
    ) async throws {
        let policy = RiskSystem.quietPolicy { policy in
            policy.allowedSymbols = ["BTCUSDT"]
            policy.maxOrdersPerMinute = 1_000
            change(&policy)
        }
        let shared = Self.sections(sections, fallback: secondVenue)
        risk = try await RiskSystem(
            policy: policy, sections: shared, persistentRedis: persistentRedis, cluster: cluster, sentinels: sentinels)
        var keys = ["VAKT_SECRET_EXCHANGE_API_KEY": Self.apiKey, "VAKT_SECRET_EXCHANGE_API_SECRET": Self.apiSecret]
        if secondVenue {
            keys["VAKT_SECRET_OKX_API_KEY"] = Self.okxCredentials.apiKey
            keys["VAKT_SECRET_OKX_SECRET_KEY"] = Self.okxCredentials.secretKey
            keys["VAKT_SECRET_OKX_PASSPHRASE"] = Self.okxCredentials.passphrase
        }
        simulator = try ServiceInstance(
            .exchangeSim, redisPort: risk.redis.port, postgres: nil, sections: shared, environment: keys, redis: risk.redisLocator)
        try await simulator.waitUntilReady()
        var client = keys
        client["VAKT_EXCHANGE__BASE_URL"] = simulator.url("")
        if secondVenue { client["VAKT_MARKET_DATA__FALLBACK__BASE_URL"] = simulator.url("") }
        // One request budget for every client of the account, as on one host: the exchange's
        // limits are per IP.
        directory = try TestEnvironment.temporaryDirectory("vakt-trading")
        let budgetFile = directory.appendingPathComponent("budget").path
        client["VAKT_EXCHANGE__BUDGET_FILE"] = budgetFile
        marketData = try ServiceInstance(
            .marketData, redisPort: risk.redis.port, postgres: risk.postgres, sections: shared, environment: client,
            redis: risk.redisLocator)
        portfolio = try ServiceInstance(
            .portfolio, redisPort: risk.redis.port, postgres: risk.postgres, sections: shared, environment: client,
            redis: risk.redisLocator)
        execution = try ServiceInstance(
            .execution, redisPort: risk.redis.port, postgres: risk.postgres, sections: shared, environment: client,
            redis: risk.redisLocator)
        for service in [marketData, portfolio, execution] { try await service.waitUntilReady(timeout: .seconds(60)) }
        redis = RedisConnection(endpoint: risk.redisEndpoint)
        var settings = EventBusSettings(bufferPath: directory.appendingPathComponent("publisher.sqlite").path)
        // Behind Sentinels, a signal counts as published once a replica holds it too, as the
        // services' events do with `event_bus.replica_acks`.
        settings.replicaAcks = sentinels == nil ? 0 : 1
        publisher = try await EventPublisher(redis: redis, settings: settings, logger: Logger(label: "test.signals"))
        exchange = try await Self.account(at: simulator.url(""), budgetFile: budgetFile)
        okx =
            secondVenue
            ? OKXClient(
                settings: .init(baseURL: simulator.url("")), credentials: Self.okxCredentials, http: HTTPClient.shared,
                logger: Logger(label: "test.okx")) : nil
    }

    /// A client of the paper exchange's account for the test, connected: what audits read. It
    /// counts its requests in `budgetFile`: the services' own when they share one (the
    /// exchange's limits are per IP, so a client outside their budget gets them banned).
    public static func account(at baseURL: String, budgetFile: String) async throws -> BinanceClient {
        let exchange = BinanceClient(
            settings: .init(baseURL: baseURL, recvWindow: 60_000, reconcileAttempts: 10),
            credentials: .init(apiKey: apiKey, secret: apiSecret), http: HTTPClient.shared,
            budget: try SharedRequestBudget(path: budgetFile), clock: ScaledClock(),
            logger: Logger(label: "test.audit"))
        try await exchange.connect()
        return exchange
    }

    /// The YAML every service of the trading half is given: BTCUSDT on 1 s klines, and the
    /// ESS's mirror trusted for 10 minutes (under a loaded machine it may be read late; these
    /// tests are about orders, not the guards' fail-safe), then `sections`.
    /// With `fallback`, market data's second venue is OKX, at an address given by the
    /// environment (`VAKT_MARKET_DATA__FALLBACK__BASE_URL`: the paper exchange's).
    public static func sections(_ sections: String, fallback: Bool = false) -> String {
        """
        market_data:
          symbols: [BTCUSDT]
          intervals: [1s]\(fallback ? "\n  fallback: { venue: okx }" : "")
        ess:
          state_max_age: 600s
          recent_transitions: 1000
        \(sections)

        """
    }

    /// Waits until execution trades (its start-up reconciliation done, the policy and an armed
    /// ESS held) and the market has traded, so a signal is not refused for want of a price.
    public func waitUntilTrading(timeout: Duration = .seconds(60)) async -> Bool {
        await TestEnvironment.eventually(timeout: timeout) {
            guard let view = try? await self.json(self.execution, "/api/execution"), view["trading"] == .bool(true),
                let health = try? await HTTPProbe.get(self.execution.url("/health")).text, health.contains("armed"),
                health.contains("policy version"), let ticks = try? await self.redis.command(["XLEN", EventType.marketTick.stream]),
                case .integer(let count) = ticks, count >= 3
            else { return false }
            return true
        }
    }

    /// A buy or sell signal at the market's last price, as the AI engine publishes it.
    @discardableResult
    public func signal(_ side: OrderSide, size: String = "0.5", confidence: String = "0.7") async throws -> EventEnvelope {
        try await Self.signal(side, size: size, confidence: confidence, exchange: exchange, publisher: publisher)
    }

    /// A BTCUSDT signal at `exchange`'s last price, published by `publisher`.
    @discardableResult
    public static func signal(
        _ side: OrderSide, size: String = "0.5", confidence: String = "0.7", exchange: BinanceClient, publisher: EventPublisher
    ) async throws -> EventEnvelope {
        let price = try await exchange.lastPrice(symbol: "BTCUSDT")
        let signal = SignalGenerated(
            symbol: "BTCUSDT", side: side, confidence: try FixedDecimal(parsing: confidence), model: "test", referencePrice: price,
            reason: "test", size: try FixedDecimal(parsing: size), expiresAt: Date().addingTimeInterval(300))
        let envelope = EventEnvelope(signal, source: "test/ai-engine")
        try await publisher.publish(envelope)
        return envelope
    }

    public func json(_ service: ServiceInstance, _ path: String) async throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONValue(parsing: try await HTTPProbe.get(service.url(path)).body) else { return [:] }
        return fields
    }

    /// Sets the paper exchange's faults (`/admin/faults`).
    public func faults(_ body: String) async throws { try await Self.faults(simulator, body) }

    /// Sets the faults of the paper exchange `simulator` (`/admin/faults`, with the control token).
    public static func faults(_ simulator: ServiceInstance, _ body: String) async throws {
        let answer = try await HTTPProbe.request(
            .POST, simulator.url("/admin/faults"),
            headers: [("Authorization", "Bearer \(ServiceInstance.controlToken)"), ("Content-Type", "application/json")], body: body)
        guard answer.status == 200 else { throw MissingFixture("faults refused: \(answer.text)") }
    }

    /// Stops every process at once (SIGTERM), without waiting: a test calls it from `defer`, and
    /// a task still pending when the test process exits never runs.
    public func stop() {
        for service in [execution, portfolio, marketData, simulator] { service.process.signal(SIGTERM) }
        try? FileManager.default.removeItem(at: directory)
        risk.stop()
    }
}
