import Foundation
import NIOHTTP1
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// One real `vakt <service>` process as a test drives it: launched on a configuration of its own
/// (the test's Redis, optionally a PostgreSQL database, extra YAML sections), with the control
/// token and a notify socket the test owns; it can wait until ready, be killed and started again
/// on the same state, and be asked with or without the token. Fixtures for a particular service
/// (``RiskSystem``) are thin uses of it.
public final class ServiceInstance: @unchecked Sendable {
    public static let controlToken = "test-control-token-0123456789abcdef"

    public let kind: ServiceKind
    public let configuration: TestConfiguration
    public private(set) var process: ServiceProcess
    public private(set) var recorder: NotifyRecorder
    /// The process's environment beyond the control token (secrets, for example).
    public let environment: [String: String]
    /// The host it runs on (this machine's loopback when nil).
    public let host: NetworkHost?

    /// Starts the process; ``waitUntilReady(timeout:)`` waits for its `READY=1`.
    /// - Parameters:
    ///   - sections: top-level YAML for the test, such as `ess:` settings.
    ///   - environment: variables for the process, such as `VAKT_SECRET_<NAME>` secrets.
    ///   - redis: the `redis:` lines locating Redis, when not `port: <redisPort>` on loopback.
    ///   - host: the host to run on (this machine's loopback when nil).
    public init(
        _ kind: ServiceKind, redisPort: Int, postgres: PostgresServer?, sections: String = "", environment: [String: String] = [:],
        redis: [String]? = nil, on host: NetworkHost? = nil
    ) throws {
        self.kind = kind
        self.host = host
        self.environment = environment.merging(["VAKT_SECRET_CONTROL_TOKEN": Self.controlToken]) { given, _ in given }
        configuration = try TestConfiguration(
            redisPort: redisPort, postgres: postgres, disabled: Set(ServiceKind.allCases).subtracting([kind]), sections: sections,
            address: host?.address ?? "127.0.0.1", redis: redis)
        (process, recorder) = try Self.launch(kind, configuration, environment: self.environment, host: host)
    }

    private static func launch(
        _ kind: ServiceKind, _ configuration: TestConfiguration, environment: [String: String], host: NetworkHost?
    ) throws -> (ServiceProcess, NotifyRecorder) {
        // An abstract socket belongs to one network namespace; a file's is reached from any.
        let recorder = try NotifyRecorder(
            address: host.map { _ in configuration.directory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path })
        let process = try ServiceProcess(
            arguments: [kind.rawValue, "--config", configuration.path], environment: environment, notifySocket: recorder.address,
            host: host)
        return (process, recorder)
    }

    /// Whether it said `READY=1` within `timeout`.
    public func isReady(within timeout: Duration = .seconds(30)) async -> Bool {
        await recorder.waitFor(timeout: timeout) { $0.contains(.ready) }
    }

    public func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        guard await isReady(within: timeout) else {
            throw MissingFixture("\(kind.rawValue) did not become ready: \(process.output())")
        }
    }

    /// SIGKILL, then a new process on the same configuration, Redis, database and files.
    public func killAndRestart(timeout: Duration = .seconds(30)) async throws {
        process.signal(SIGKILL)
        _ = await process.waitForExit()
        recorder.stop()
        (process, recorder) = try Self.launch(kind, configuration, environment: environment, host: host)
        try await waitUntilReady(timeout: timeout)
    }

    /// SIGTERM; the exit status, or nil when it did not exit in time.
    @discardableResult
    public func stop() async -> Int32? {
        process.signal(SIGTERM)
        let status = await process.waitForExit()
        recorder.stop()
        return status
    }

    public func url(_ path: String) -> String { configuration.url(kind, path) }

    /// A request with the control token unless `authorization` says otherwise.
    public func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, authorization: String? = "Bearer \(controlToken)"
    ) async throws -> HTTPResult {
        var headers = authorization.map { [("Authorization", $0)] } ?? []
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await HTTPProbe.request(method, url(path), headers: headers, body: body)
    }
}
