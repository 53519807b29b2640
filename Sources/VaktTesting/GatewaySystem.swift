import EventBus
import Foundation
import Logging
import NIOHTTP1
import RedisClient
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway as a test drives it: a real `vakt gateway` process on the risk fixture's Redis
/// and PostgreSQL, reading the risk service's ESS for its snapshot, with a read token, and a
/// publisher to put events on the bus for it to fan out. `services` points it at more running
/// services (their ports); the rest of its snapshot's sections then say their service is away.
/// Given another's risk fixture, it is a second gateway on the same bus.
public final class GatewaySystem: @unchecked Sendable {
    public static let readToken = "test-read-token-0123456789abcdef"
    public static let controlToken = ServiceInstance.controlToken

    public let risk: RiskSystem
    public let gateway: ServiceInstance
    public let publisher: EventPublisher
    let directory: URL
    /// Whether ``stop()`` stops the risk fixture too: not when it was given (another gateway's).
    let ownsRisk: Bool

    /// - Parameters:
    ///   - sections: top-level YAML, such as `gateway:` settings.
    ///   - services: more services the gateway reads, by kind and port.
    ///   - host: the host to run on; the risk service, its Redis and PostgreSQL must answer there.
    public init(sections: String = "", services: [ServiceKind: Int] = [:], risk given: RiskSystem? = nil, on host: NetworkHost? = nil)
        async throws
    {
        let risk: RiskSystem
        if let given { risk = given } else { risk = try await RiskSystem(policy: RiskSystem.quietPolicy()) }
        self.risk = risk
        ownsRisk = given == nil
        var environment = ["VAKT_SECRET_READ_TOKEN": Self.readToken]
        for (kind, port) in services {
            environment[ConfigReader.variable(forPath: "services.\(kind.rawValue).port")] = String(port)
        }
        // The risk service's own address: it may be on another host.
        environment[ConfigReader.variable(forPath: "services.risk.url")] = risk.url("")
        gateway = try ServiceInstance(
            .gateway, redisPort: risk.redis.port, postgres: risk.postgres, sections: sections, environment: environment,
            redis: risk.redis.locator, on: host)
        try await gateway.waitUntilReady(timeout: .seconds(60))
        directory = try TestEnvironment.temporaryDirectory("vakt-gateway")
        publisher = try await EventPublisher(
            redis: risk.connection, settings: EventBusSettings(bufferPath: directory.appendingPathComponent("publisher.sqlite").path),
            logger: Logger(label: "test.events"))
    }

    /// `address:port` of the gateway, as a load balancer names it.
    public var address: String { "\(gateway.configuration.address):\(gateway.configuration.ports[.gateway]!)" }

    public var webSocketURL: String { gateway.url("/ws").replacingOccurrences(of: "http://", with: "ws://") }

    /// A read of the gateway with the read token unless `authorization` says otherwise.
    public func get(_ path: String, authorization: String? = "Bearer \(readToken)") async throws -> HTTPResult {
        try await gateway.request(.GET, path, authorization: authorization)
    }

    /// The snapshot, parsed.
    public func snapshot() async throws -> [String: JSONValue] {
        let result = try await get("/api/snapshot")
        guard result.status == 200, case .object(let fields) = try JSONValue(parsing: result.body) else {
            throw MissingFixture("GET /api/snapshot: \(result.status) \(result.text)")
        }
        return fields
    }

    /// Publishes `payloads` in batches of 1,000.
    public func publish<Payload: EventPayload>(_ payloads: [Payload]) async throws {
        var start = 0
        while start < payloads.count {
            let batch = payloads[start..<min(start + 1_000, payloads.count)]
            try await publisher.publish(batch.map { EventEnvelope($0, source: "test") })
            start += 1_000
        }
    }

    /// Publishes a marker until `client` has it: the gateway's consumer group starts at the
    /// stream's end, so events published before it reads would never reach it.
    public func waitUntilFlowing(to client: FanoutClient, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            try await publish([
                PositionUpdated(symbol: "FLOWUSDT", quantity: .zero, averagePrice: .zero, realizedPnl: .zero)
            ])
            if await client.waitUntil(timeout: .milliseconds(500), { $0.latest["position.updated FLOWUSDT"] != nil }) { return }
        }
        throw MissingFixture("events published did not reach the WebSocket client within \(timeout)")
    }

    public func stop() {
        gateway.process.signal(SIGTERM)
        try? FileManager.default.removeItem(at: directory)
        if ownsRisk { risk.stop() }
    }
}
