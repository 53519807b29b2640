import EventBus
import Foundation
import NIOHTTP1
import PolicyStore
import RedisClient
import ServiceKit
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// A real `vakt risk` with a Redis of its own and a fresh PostgreSQL database (a
/// ``ServiceInstance``), and the risk service's typed client.
public final class RiskSystem: @unchecked Sendable {
    public static let controlToken = ServiceInstance.controlToken

    /// Its Redis: one of its own, or the primary it was given.
    public let redis: RedisServer
    /// The `redis:` lines and the endpoint that find Redis: the server, or the Sentinels.
    public let redisLocator: [String]
    public let redisEndpoint: RedisEndpoint
    public let postgres: PostgresServer
    public let service: ServiceInstance
    public let connection: RedisConnection

    /// - Parameters:
    ///   - sections: top-level YAML for the test, such as `ess:` and `policy:` settings.
    ///   - policy: a policy document to find in Redis at start-up, as an operator's earlier
    ///     change would have left it.
    ///   - persistentRedis: Redis keeps what it acknowledged across a stop and start.
    ///   - cluster: a PostgreSQL of the test's own instead of the shared one.
    ///   - host: the host it and its Redis run on, reached from other hosts (loopback when nil).
    ///   - sentinels: Sentinels watching a running primary to use instead of a Redis of its own.
    public init(
        policy: Data? = nil, sections: String = "", persistentRedis: Bool = false, cluster: PostgresServer? = nil,
        on host: NetworkHost? = nil, sentinels: (primary: RedisServer, group: [RedisSentinel])? = nil
    ) async throws {
        if let sentinels {
            redis = sentinels.primary
            redisLocator = RedisSentinel.locator(sentinels.group)
            redisEndpoint = RedisSentinel.endpoint(sentinels.group)
        } else {
            redis = try RedisServer(persistent: persistentRedis, on: host)
            try await redis.start()
            redisLocator = redis.locator
            redisEndpoint = redis.endpoint
        }
        postgres = try await (cluster ?? PostgresServer()).freshDatabase()
        connection = RedisConnection(
            endpoint: sentinels == nil ? RedisEndpoint(host: redis.address, port: redis.port) : redisEndpoint)
        if let policy {
            _ = try await connection.pipeline(bytes: [[Array("SET".utf8), Array("vakt:policy:current".utf8), Array(policy)]])
        }
        service = try ServiceInstance(.risk, redisPort: redis.port, postgres: postgres, sections: sections, redis: redisLocator, on: host)
        try await service.waitUntilReady()
    }

    /// The default policy with the ESS's feed-age rule out of the way (a day), changed as
    /// `change` says: for tests that are not about market data going stale.
    public static func quietPolicy(_ change: (inout RiskPolicy) -> Void = { _ in }) -> Data {
        var policy = RiskPolicy.defaults
        policy.ess.maxFeedAgeSeconds = 86_400
        change(&policy)
        return PolicyDocument(version: 1, updatedAt: Date(), updatedBy: "test", policy: policy).data
    }

    public var configuration: TestConfiguration { service.configuration }
    public var process: ServiceProcess { service.process }
    public var recorder: NotifyRecorder { service.recorder }

    /// SIGKILL, then a new process on the same Redis, database and files.
    public func killAndRestart() async throws { try await service.killAndRestart() }

    public func url(_ path: String) -> String { service.url(path) }

    /// A request with the control token unless `authorization` says otherwise.
    public func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, authorization: String? = "Bearer \(controlToken)"
    ) async throws -> HTTPResult {
        try await service.request(method, path, body: body, authorization: authorization)
    }

    /// `GET /api/ess` as JSON.
    public func ess() async throws -> JSONValue {
        try JSONValue(parsing: try await HTTPProbe.get(url("/api/ess")).body)
    }

    /// The risk service's ESS API, typed, with the control token.
    public var client: RiskClient {
        RiskClient(ControlClient(baseURL: url(""), token: Secret(Self.controlToken), tokenSecret: "control-token"))
    }

    /// The ESS state `GET /api/ess` reports.
    public func state() async throws -> String? {
        try await client.ess().status.state.rawValue
    }

    public func stop() {
        process.signal(SIGTERM)
        recorder.stop()
        redis.stop()
    }
}
