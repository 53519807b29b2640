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

    /// Starts the process; ``waitUntilReady(timeout:)`` waits for its `READY=1`.
    /// - Parameters:
    ///   - sections: top-level YAML for the test, such as `ess:` settings.
    ///   - environment: variables for the process, such as `VAKT_SECRET_<NAME>` secrets.
    public init(
        _ kind: ServiceKind, redisPort: Int, postgres: PostgresServer?, sections: String = "", environment: [String: String] = [:]
    ) throws {
        self.kind = kind
        self.environment = environment.merging(["VAKT_SECRET_CONTROL_TOKEN": Self.controlToken]) { given, _ in given }
        configuration = try TestConfiguration(
            redisPort: redisPort, postgres: postgres, disabled: Set(ServiceKind.allCases).subtracting([kind]), sections: sections)
        (process, recorder) = try Self.launch(kind, configuration, environment: self.environment)
    }

    private static func launch(
        _ kind: ServiceKind, _ configuration: TestConfiguration, environment: [String: String]
    ) throws -> (ServiceProcess, NotifyRecorder) {
        let recorder = try NotifyRecorder()
        let process = try ServiceProcess(
            arguments: [kind.rawValue, "--config", configuration.path], environment: environment, notifySocket: recorder.address)
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
        (process, recorder) = try Self.launch(kind, configuration, environment: environment)
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
