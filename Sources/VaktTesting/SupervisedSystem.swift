import Foundation
import PrometheusText
import Synchronization
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// A real `vakt supervisor` running the given programs (and none of the Vakt services unless
/// asked), with a control token, a notify socket this test owns, and a Redis of its own.
public final class SupervisedSystem: Sendable {
    public static let controlToken = "test-control-token-0123456789"

    /// The running supervisor (a new process after ``killAndRestartSupervisor()``).
    public var supervisor: ServiceProcess { current.withLock { $0 } }
    private let current: Mutex<ServiceProcess>
    private let launch: @Sendable () throws -> ServiceProcess
    public let configuration: TestConfiguration
    public let recorder: NotifyRecorder
    public let redis: RedisServer

    /// The test child's path, built beside `vakt`.
    public static var testChild: String {
        TestEnvironment.buildDirectory.appendingPathComponent("VaktTestChild").path
    }

    /// YAML lines for a test child: `command` from its arguments plus any extra settings.
    public static func child(_ arguments: [String], _ settings: [String] = []) -> [String] {
        let command = ([testChild] + arguments).map { "\"\($0)\"" }.joined(separator: ", ")
        return ["command: [\(command)]"] + settings
    }

    public init(
        programs: [(name: String, settings: [String])], services: Set<ServiceKind> = [], serviceSettings: [ServiceKind: [String]] = [:],
        stateDirectoryOf previous: SupervisedSystem? = nil, sections: String = "", postgres: PostgresServer? = nil,
        environment: [String: String] = [:], redis given: RedisServer? = nil, on host: NetworkHost? = nil
    ) async throws {
        if let given {
            redis = given
        } else {
            redis = try RedisServer()
            try await redis.start()
        }
        var supervisorSettings: [String] = []
        if let previous {
            supervisorSettings.append("state_directory: \(previous.configuration.directory.path)/supervisor")
        }
        configuration = try TestConfiguration(
            redisPort: redis.port, postgres: postgres, disabled: Set(ServiceKind.allCases).subtracting(services),
            serviceSettings: serviceSettings,
            programs: programs, supervisorSettings: supervisorSettings, sections: sections, address: host?.address ?? "127.0.0.1",
            redis: redis.locator)
        // An abstract socket belongs to one network namespace; a file's is reached from any.
        let socketFile = configuration.directory.appendingPathComponent("notify.sock").path
        recorder = try NotifyRecorder(address: host.map { _ in socketFile })
        let (path, address) = (configuration.path, recorder.address)
        launch = {
            try ServiceProcess(
                arguments: ["supervisor", "--config", path],
                environment: environment.merging(["VAKT_SECRET_CONTROL_TOKEN": Self.controlToken]) { given, _ in given },
                notifySocket: address, host: host)
        }
        current = Mutex(try launch())
    }

    /// SIGKILL to the supervisor (its children go with it: their parent-death signal), then a
    /// new supervisor on the same configuration, state directory and Redis, as systemd's
    /// `Restart=` would start it.
    public func killAndRestartSupervisor() async throws {
        let killed = supervisor
        killed.signal(SIGKILL)
        guard await killed.waitForExit() != nil else { throw MissingFixture("the supervisor did not exit on SIGKILL") }
        let next = try launch()
        current.withLock { $0 = next }
    }

    public var apiURL: String { configuration.url(.supervisor, "/api/services") }

    /// `GET /api/services`, decoded as JSON objects keyed by service name.
    public func services() async throws -> [String: [String: Any]] {
        let result = try await HTTPProbe.get(apiURL)
        guard let object = try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any],
            let list = object["services"] as? [[String: Any]]
        else { throw MissingFixture("unexpected /api/services body: \(result.text)") }
        return Dictionary(uniqueKeysWithValues: list.compactMap { entry in (entry["name"] as? String).map { ($0, entry) } })
    }

    public func service(_ name: String) async -> [String: Any]? {
        try? await services()[name]
    }

    /// Waits until `name`'s entry satisfies `predicate`.
    public func waitFor(_ name: String, timeout: Duration = .seconds(30), _ predicate: @escaping ([String: Any]) -> Bool) async -> Bool {
        await TestEnvironment.eventually(timeout: timeout) {
            guard let entry = await service(name) else { return false }
            return predicate(entry)
        }
    }

    /// `POST /api/services/{name}/{action}` with the given Authorization header.
    public func control(_ action: String, _ name: String, authorization: String? = "Bearer \(controlToken)") async throws -> HTTPResult {
        try await HTTPProbe.request(
            .POST, configuration.url(.supervisor, "/api/services/\(name)/\(action)"),
            headers: authorization.map { [("Authorization", $0)] } ?? [], timeout: .seconds(30))
    }

    /// The value of the sample named `name` whose labels include `labels`, from the
    /// supervisor's aggregated `/metrics`.
    public func metric(_ name: String, _ labels: [String: String] = [:]) async throws -> Double? {
        let families = try ExpositionParser().parse(Array(try await metrics().utf8))
        return families.lazy.flatMap(\.samples).first { sample in
            sample.name == name && labels.allSatisfy { label in sample.labels.contains(Label(label.key, label.value)) }
        }?.value
    }

    /// `GET /api/mesh` as a JSON object, once the mesh has been evaluated.
    public func mesh() async throws -> [String: Any] {
        let result = try await HTTPProbe.get(configuration.url(.supervisor, "/api/mesh"))
        guard let object = try JSONSerialization.jsonObject(with: Data(result.body)) as? [String: Any] else {
            throw MissingFixture("unexpected /api/mesh body: \(result.text)")
        }
        return object
    }

    /// The mesh's entry for one node.
    public func meshNode(_ name: String) async -> [String: Any]? {
        let nodes = (try? await mesh())?["nodes"] as? [[String: Any]]
        return nodes?.first { $0["name"] as? String == name }
    }

    public func metrics() async throws -> String {
        try await HTTPProbe.get(configuration.url(.supervisor, "/metrics")).text
    }

    public func stop() async -> Int32? {
        supervisor.signal(SIGTERM)
        // The recorder keeps listening: the supervisor's last datagrams may still be arriving.
        return await supervisor.waitForExit(timeout: .seconds(30))
    }
}
