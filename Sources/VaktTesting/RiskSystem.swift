import EventBus
import Foundation
import NIOHTTP1
import RedisClient
import ServiceKit
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// A real `vakt risk` with a Redis of its own, a fresh PostgreSQL database, a control token
/// and a notify socket this test owns; it can be killed and started again on the same state.
public final class RiskSystem: @unchecked Sendable {
    public static let controlToken = "test-risk-token-0123456789abcdef"

    public let redis: RedisServer
    public let postgres: PostgresServer
    public let configuration: TestConfiguration
    public let connection: RedisConnection
    public private(set) var process: ServiceProcess
    public private(set) var recorder: NotifyRecorder

    /// - Parameters:
    ///   - sections: top-level YAML for the test, such as `ess:` and `policy:` settings.
    ///   - policy: a policy document to find in Redis at start-up, as an operator's earlier
    ///     change would have left it.
    public init(policy: Data? = nil, sections: String = "") async throws {
        redis = try RedisServer()
        try await redis.start()
        postgres = try await PostgresServer().freshDatabase()
        configuration = try TestConfiguration(
            redisPort: redis.port, postgres: postgres, disabled: Set(ServiceKind.allCases).subtracting([.risk]), sections: sections)
        connection = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.port))
        if let policy {
            _ = try await connection.pipeline(bytes: [[Array("SET".utf8), Array("vakt:policy:current".utf8), Array(policy)]])
        }
        (process, recorder) = try Self.launch(configuration)
        try await waitUntilReady()
    }

    private static func launch(_ configuration: TestConfiguration) throws -> (ServiceProcess, NotifyRecorder) {
        let recorder = try NotifyRecorder()
        let process = try ServiceProcess(
            arguments: ["risk", "--config", configuration.path], environment: ["VAKT_SECRET_CONTROL_TOKEN": controlToken],
            notifySocket: recorder.address)
        return (process, recorder)
    }

    public func waitUntilReady() async throws {
        guard await recorder.waitFor(timeout: .seconds(30), { $0.contains(.ready) }) else {
            throw MissingFixture("the risk service did not become ready: \(process.output())")
        }
    }

    /// SIGKILL, then a new process on the same Redis, database and files.
    public func killAndRestart() async throws {
        process.signal(SIGKILL)
        _ = await process.waitForExit()
        recorder.stop()
        (process, recorder) = try Self.launch(configuration)
        try await waitUntilReady()
    }

    public func url(_ path: String) -> String { configuration.url(.risk, path) }

    /// A request with the control token unless `authorization` says otherwise.
    public func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, authorization: String? = "Bearer \(controlToken)"
    ) async throws -> HTTPResult {
        var headers = authorization.map { [("Authorization", $0)] } ?? []
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await HTTPProbe.request(method, url(path), headers: headers, body: body)
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
