import Foundation
import Testing
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Gateways on two hosts behind HAProxy, as `docs/operations.md` deploys them: network
/// namespaces as hosts B and C, each running a gateway; host A (this machine) runs the risk
/// service, Redis, PostgreSQL and HAProxy. Needs root and iproute2; runs when
/// `VAKT_MULTIHOST_TESTS` is set.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["VAKT_MULTIHOST_TESTS"] != nil, "needs root: set VAKT_MULTIHOST_TESTS"))
struct MultiHostGatewayTests {
    /// Host B's gateway SIGKILLed under load: its clients are back through HAProxy on host C's
    /// at their first reconnect attempt.
    @Test func aGatewayKilledOnItsHostLosesNoClientForLongerThanOneReconnect() async throws {
        try await Self.withGatewaysOnTwoHosts { _, hostB, _ in
            hostB.gateway.process.signal(SIGKILL)
        }
    }

    /// Host B cut off under load (its link down: its gateway runs on, its connections go
    /// silent): HAProxy marks it down after two failed checks and closes its sessions
    /// (`on-marked-down shutdown-sessions`), so its clients reconnect, to host C's, at their
    /// first attempt, instead of waiting on a dead tunnel.
    @Test func aGatewayHostCutOffLosesNoClientForLongerThanOneReconnect() async throws {
        try await Self.withGatewaysOnTwoHosts { network, _, _ in
            try network[0].cutOff()
        }
    }

    static func withGatewaysOnTwoHosts(
        lose: (NetworkHosts, GatewaySystem, GatewaySystem) throws -> Void
    ) async throws {
        let network = try NetworkHosts(count: 2)
        let cluster = try PostgresCluster(on: network.machine)
        try await cluster.start()
        let risk = try await RiskSystem(policy: RiskSystem.quietPolicy(), cluster: cluster.server, on: network.machine)
        let hostB = try await GatewaySystem(sections: GatewayFailoverTests.sections("b"), risk: risk, on: network[0])
        let hostC = try await GatewaySystem(sections: GatewayFailoverTests.sections("c"), risk: risk, on: network[1])
        let balancer = try await LoadBalancer(backends: [hostB, hostC].map(\.address))
        func stopAll() {
            hostB.stop()
            hostC.stop()
            risk.stop()
        }
        do {
            try await GatewayFailoverTests.killOneUnderLoad(hostB, hostC, through: balancer) { try lose(network, hostB, hostC) }
        } catch {
            stopAll()
            try? await cluster.stop()
            throw error
        }
        stopAll()
        try await cluster.stop()
        withExtendedLifetime((network, balancer)) {}
    }
}
