import EventBus
import Foundation
import Testing
import VaktConfig
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Vakt across hosts, on one machine: network namespaces as hosts, joined by a bridge, each
/// with its own address, so a host is cut off for real by taking its link down (its programs
/// keep running, their packets are dropped), not by freezing a process. Needs root and
/// iproute2; runs when `VAKT_MULTIHOST_TESTS` is set (`scripts/test` sets it where it can).
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["VAKT_MULTIHOST_TESTS"] != nil, "needs root: set VAKT_MULTIHOST_TESTS"))
struct MultiHostTests {
    typealias Mesh = HealthMeshProcessTests

    /// Host A (this machine: the risk service, its supervisor and mesh, Redis, PostgreSQL)
    /// watches hosts B and C, each a supervisor of its own in its namespace, with a
    /// `host_unreachable` rule per host. B's link is taken down: A's mesh sees B's supervisor
    /// fail, its rule trips the ESS and pages `VaktHostUnreachable`, and C's rule holds still;
    /// B's link up again, the page resolves.
    @Test func aHostCutOffIsSeenByTheOthersMeshAndTripsTheESSByRule() async throws {
        let network = try NetworkHosts(count: 2)
        let (hostB, hostC) = (network[0], network[1])
        let redis = try RedisServer(on: network.machine)
        try await redis.start()
        defer { redis.stop() }
        let others = [
            try await SupervisedSystem(programs: [], redis: redis, on: hostB),
            try await SupervisedSystem(programs: [], redis: redis, on: hostC),
        ]
        defer { for other in others { other.supervisor.signal(SIGKILL) } }
        for other in others {
            #expect(
                await TestEnvironment.eventually {
                    (try? await HTTPProbe.get(other.configuration.url(.supervisor, "/health")))?.status == 200
                },
                "\(other.supervisor.output())")
        }
        let receiver = try await ScriptedHTTPServer { _, _ in .json(200, "{}") }
        let postgres = try await PostgresServer().freshDatabase()
        let system = try await SupervisedSystem(
            programs: [], services: [.risk],
            sections: Mesh.alerting(receiver: receiver.url) + """
                health:
                  check_timeout: 1s
                  probe: { interval: 1s, timeout: 1s, failure_threshold: 3, start_grace: 2s }
                  http_targets:
                    host-b-supervisor: "\(others[0].configuration.url(.supervisor, "/health"))"
                    host-c-supervisor: "\(others[1].configuration.url(.supervisor, "/health"))"
                safety:
                  rules:
                    host-b-cut-off: { condition: host_unreachable, targets: [host-b-supervisor], hold: 1s }
                    host-c-cut-off: { condition: host_unreachable, targets: [host-c-supervisor], hold: 1s }

                """, postgres: postgres, redis: redis)
        #expect(await system.waitFor("risk") { $0["ready"] as? Bool == true }, "\(system.supervisor.output())")
        let riskURL = system.configuration.url(.risk, "")
        try await Mesh.relaxFeedAge(riskURL: riskURL)
        for node in ["host-b-supervisor", "host-c-supervisor"] {
            #expect(await TestEnvironment.eventually { (await system.meshNode(node))?["effective"] as? String == "pass" }, "\(node)")
        }

        try hostB.cutOff()
        await Mesh.expectTripAndPage(system, riskURL: riskURL, rule: "host-b-cut-off", receiver: receiver)
        #expect((await system.meshNode("host-c-supervisor"))?["effective"] as? String == "pass")
        #expect(await Mesh.trip(riskURL: riskURL, source: "supervisor/host-c-cut-off") == nil)
        try hostB.reconnect()
        await Mesh.expectPageResolved(receiver)
        #expect(await system.stop() == 0)
        for other in others { _ = await other.stop() }
        await receiver.stop()
        withExtendedLifetime(network) {}
    }
}
