import Foundation
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

/// A real redis-server on a port of its own, without persistence, that a test can stop and
/// start again on the same port to simulate an outage.
public final class RedisServer: @unchecked Sendable {
    public let port: Int
    private let directory: URL
    private var process: Process?
    private let lock = NSLock()

    private let persistent: Bool
    private let extraArguments: [String]
    private let replicating: Bool
    /// The host it runs on (this machine's loopback when nil).
    public let host: NetworkHost?

    /// - Parameters:
    ///   - persistent: keep data across a stop and start (append-only file, fsync on every
    ///     write), for outage tests that must not lose what Redis had acknowledged.
    ///   - replicaOf: the port of a primary on this host to replicate.
    ///   - primaryAddress: the primary's address, when it is on another host.
    ///   - host: the host to run on; it answers on that host's address, to every host.
    public init(persistent: Bool = false, replicaOf primary: Int? = nil, primaryAddress: String = "127.0.0.1", on host: NetworkHost? = nil)
        throws
    {
        self.persistent = persistent
        self.host = host
        extraArguments = primary.map { ["--replicaof", primaryAddress, "\($0)"] } ?? []
        replicating = primary != nil
        guard TestEnvironment.which("redis-server") != nil else {
            throw MissingFixture("redis-server is not installed; run scripts/install-deps")
        }
        port = TestEnvironment.freePort()
        directory = try TestEnvironment.temporaryDirectory("vakt-redis")
    }

    public var address: String { host?.address ?? "127.0.0.1" }

    /// The server's own log (warnings; a replica's sync steps too).
    var logFile: URL { directory.appendingPathComponent("redis.log") }

    /// The `redis:` section's lines that locate it.
    public var locator: [String] { ["host: \(address)", "port: \(port)"] }

    public var endpoint: RedisEndpoint {
        RedisEndpoint(
            host: address, port: port, connectTimeout: .seconds(2), commandTimeout: .seconds(10),
            reconnectInitialDelay: .milliseconds(20), reconnectMaxDelay: .milliseconds(200))
    }

    /// Starts the server and waits until it answers PING (and, a replica, until its first sync
    /// with the primary is done: a `WAIT` before then finds no replica).
    public func start() async throws {
        let process = Process()
        let arguments =
            [
                "--port", "\(port)", "--bind", address, "--save", "", "--appendonly", persistent ? "yes" : "no", "--appendfsync",
                "always", "--dir", directory.path, "--daemonize", "no",
                // A replica logs each step of its sync with the primary, for the error below.
                "--loglevel", replicating ? "notice" : "warning", "--logfile", logFile.path,
            ] + (host == nil ? [] : ["--protected-mode", "no"]) + extraArguments
        let program = TestEnvironment.which("redis-server")!
        let launch = host?.launch(program, arguments) ?? (executable: program, arguments: arguments)
        process.executableURL = URL(fileURLWithPath: launch.executable)
        process.arguments = launch.arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try Spawn.serially { try process.run() }
        lock.withLock { self.process = process }
        let probe = RedisConnection(endpoint: endpoint, label: "fixture-probe")
        let up = await TestEnvironment.eventually(timeout: .seconds(10)) {
            (try? await probe.command(["PING"]))?.string == "PONG"
        }
        guard up else { throw MissingFixture("redis-server on port \(port) did not answer PING within 10 s") }
        guard replicating else { return }
        // A generous limit: on a busy 2-core machine a first sync once took over 60 s.
        let linked = await TestEnvironment.eventually(timeout: .seconds(180)) {
            (try? await probe.command(["INFO", "replication"]))?.string?.contains("master_link_status:up") == true
        }
        guard linked else {
            let replication = (try? await probe.command(["INFO", "replication"]))?.string ?? "no answer to INFO"
            let log = (try? String(contentsOf: logFile, encoding: .utf8))?.split(separator: "\n").suffix(30).joined(separator: "\n") ?? ""
            throw MissingFixture("the replica on port \(port) did not finish its first sync within 180 s:\n\(replication)\n\(log)")
        }
    }

    /// Freezes the server (SIGSTOP) until ``resume()``: its connections stay open and nothing
    /// on them is read or answered, as a host that stalls.
    public func pause() { signal(SIGSTOP) }

    public func resume() { signal(SIGCONT) }

    private func signal(_ number: Int32) {
        guard let process = lock.withLock({ self.process }) else { return }
        kill(process.processIdentifier, number)
    }

    /// Stops the server (SIGKILL: an outage, not a clean shutdown) and waits for it to exit.
    public func stop() {
        let process = lock.withLock { () -> Process? in
            defer { self.process = nil }
            return self.process
        }
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        KilledProcess.waitUntilExited(process.processIdentifier)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
