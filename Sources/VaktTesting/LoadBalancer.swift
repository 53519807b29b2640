import Foundation
import VaktConfig

#if canImport(Glibc)
    import Glibc
#endif

/// A real HAProxy (from Debian) on a port of its own in front of HTTP backends on this host,
/// as production runs it before several gateways: each backend health-checked through
/// `GET /health` (200 passes; two failures in a row take it out, two passes bring it back),
/// round robin among those up, a connection that fails retried once on another backend, and
/// WebSocket upgrades passed through and held open for an hour (`timeout tunnel`).
public final class LoadBalancer: @unchecked Sendable {
    public let port: Int
    private let directory: URL
    private let process: Process

    /// - Parameter backends: the backends' ports, named `b0`, `b1`, … in HAProxy's logs.
    public init(backends: [Int], checkInterval: Duration = .milliseconds(500)) async throws {
        guard let haproxy = TestEnvironment.which("haproxy") else {
            throw MissingFixture("haproxy is not installed; run scripts/install-deps")
        }
        port = TestEnvironment.freePort()
        directory = try TestEnvironment.temporaryDirectory("vakt-haproxy")
        let file = directory.appendingPathComponent("haproxy.cfg")
        let servers = backends.enumerated().map { index, port in
            "    server b\(index) 127.0.0.1:\(port) check inter \(checkInterval.milliseconds)ms fall 2 rise 2"
        }
        try """
        global
            maxconn 4096

        defaults
            mode http
            timeout connect 2s
            timeout client 60s
            timeout server 60s
            timeout tunnel 1h
            retries 1
            option redispatch

        frontend gateways
            bind 127.0.0.1:\(port)
            default_backend gateway

        backend gateway
            balance roundrobin
            option httpchk GET /health
            http-check expect status 200
        \(servers.joined(separator: "\n"))

        """.write(to: file, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: haproxy)
        // -db: in the foreground, so the process is the proxy and dies with SIGKILL.
        process.arguments = ["-db", "-f", file.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let port = port
        let up = await TestEnvironment.eventually(timeout: .seconds(30)) {
            (try? await HTTPProbe.request(.GET, "http://127.0.0.1:\(port)/health"))?.status == 200
        }
        guard up else { throw MissingFixture("haproxy on port \(port) did not reach a healthy gateway within 30 s") }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        KilledProcess.waitUntilExited(process.processIdentifier)
        try? FileManager.default.removeItem(at: directory)
    }
}
