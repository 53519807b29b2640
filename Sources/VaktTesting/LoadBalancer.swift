import Foundation
import VaktConfig

/// A real HAProxy (from Debian) on a port of its own in front of servers, as
/// production runs it: before several gateways (HTTP, each checked through `GET /health`, round
/// robin, WebSocket tunnels held open for an hour), or before a PostgreSQL primary and its
/// standby (TCP, each checked with a PostgreSQL startup, the standby used only while the primary
/// fails its checks). A server is out after two failed checks and back after two passes; a
/// connection that fails is retried once on another server.
public final class LoadBalancer: Sendable {
    public var port: Int { daemon.port }
    private let daemon: ConfiguredDaemon

    /// In front of gateways (or any HTTP servers with `/health`) at `backends` (`address:port`),
    /// named `b0`, `b1`, …. A server marked down has its sessions closed, so that its
    /// WebSocket clients reconnect (to another) even when it went without a word, its host cut off.
    public convenience init(backends: [String], checkInterval: Duration = .milliseconds(500)) async throws {
        let servers = backends.enumerated().map { index, address in
            "server b\(index) \(address) check inter \(checkInterval.milliseconds)ms fall 2 rise 2 on-marked-down shutdown-sessions"
        }
        try await self.init(
            mode: "http",
            backend: ["balance roundrobin", "option httpchk GET /health", "http-check expect status 200"] + servers,
            ready: { port in (try? await HTTPProbe.request(.GET, "http://127.0.0.1:\(port)/health"))?.status == 200 })
    }

    /// In front of a PostgreSQL `primary` and its `standby` (the `backup` server), checked as
    /// `user`.
    public convenience init(postgresPrimary primary: Int, standby: Int, user: String, checkInterval: Duration = .milliseconds(500))
        async throws
    {
        // Sessions to a server marked down are closed: a client whose primary went silent (its
        // host cut off) reconnects instead of waiting on a dead connection.
        let check = "check inter \(checkInterval.milliseconds)ms fall 2 rise 2 on-marked-down shutdown-sessions"
        try await self.init(
            mode: "tcp",
            backend: [
                "option pgsql-check user \(user)", "server primary 127.0.0.1:\(primary) \(check)",
                "server standby 127.0.0.1:\(standby) \(check) backup",
            ],
            ready: { port in TestEnvironment.canConnect(port: port) })
    }

    private init(mode: String, backend: [String], ready: @escaping @Sendable (Int) async -> Bool) async throws {
        // -db: in the foreground, so the process is the proxy and dies with SIGKILL.
        daemon = try ConfiguredDaemon(
            program: "haproxy", name: "haproxy",
            configuration: { port, _ in
                """
                global
                    maxconn 4096

                defaults
                    mode \(mode)
                    timeout connect 2s
                    timeout client 60s
                    timeout server 60s
                    timeout tunnel 1h
                    retries 1
                    option redispatch

                frontend front
                    bind 127.0.0.1:\(port)
                    default_backend servers

                backend servers
                \(backend.map { "    " + $0 }.joined(separator: "\n"))

                """
            }, arguments: { ["-db", "-f", $0] })
        let port = daemon.port
        guard await TestEnvironment.eventually(timeout: .seconds(30), { await ready(port) }) else {
            throw MissingFixture("haproxy on port \(port) did not reach a healthy server within 30 s")
        }
    }

    public var url: String { "http://127.0.0.1:\(port)" }
}
