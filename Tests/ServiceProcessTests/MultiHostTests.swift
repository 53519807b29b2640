import EventBus
import Foundation
import RedisClient
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
        let (system, riskURL, receiver) = try await Mesh.watching(
            hosts: [
                "host-b": others[0].configuration.url(.supervisor, "/health"),
                "host-c": others[1].configuration.url(.supervisor, "/health"),
            ], redis: redis)

        try hostB.cutOff()
        await Mesh.expectTripAndPage(system, riskURL: riskURL, rule: "host-b-cut-off", receiver: receiver)
        #expect((await system.meshNode("host-c-supervisor"))?["effective"] as? String == "pass")
        #expect(await Mesh.trip(riskURL: riskURL, source: "supervisor/host-c-cut-off") == nil)
        try hostB.reconnect()
        await Mesh.expectPageResolved(receiver)
        #expect(await system.stop() == 0, "\(system.supervisor.output())")
        for other in others { _ = await other.stop() }
        await receiver.stop()
        withExtendedLifetime(network) {}
    }

    /// Three hosts as `docs/operations.md` lays them out: host B holds the Redis primary, host C
    /// its replica and the PostgreSQL standby (synchronous), host A (this machine) the
    /// PostgreSQL primary and the trading services; a Sentinel on each host (quorum 2); every
    /// publisher waits for a replica (`replica_acks: 1`). Mid-trading, with signals going out,
    /// the Redis primary is SIGKILLed: the Sentinels promote C's replica and every service
    /// follows. B's Redis, started again, is made a replica of C's, so the publishes held on
    /// disk meanwhile are confirmed. Trading resumes (signals after the failover become filled
    /// orders) and the audit finds nothing lost or doubled: every order and fill at the exchange
    /// booked once, the PnL equal to its recomputation, every event handled.
    @Test func theRedisPrimaryKilledMidTradingLosesNoAcknowledgedEventAndTradingResumes() async throws {
        let network = try NetworkHosts(count: 2)
        let (hostB, hostC) = (network[0], network[1])
        let primary = try RedisServer(persistent: true, on: hostB)
        try await primary.start()
        defer { primary.stop() }
        let replica = try RedisServer(persistent: true, replicaOf: primary.port, primaryAddress: primary.address, on: hostC)
        try await replica.start()
        defer { replica.stop() }
        let sentinels = try await RedisSentinel.group(
            watching: primary.port, replicas: 1, primaryAddress: primary.address, on: [network.machine, hostB, hostC])
        let postgres = try PostgresCluster(on: network.machine)
        try await postgres.start()
        let standby = try PostgresCluster(on: hostC)
        try await standby.startAsStandby(of: postgres)
        let system = try await PaperTradingSystem(
            sections: ExecutionProcessTests.sections + "\n  replica_acks: 1\n", cluster: postgres.server,
            sentinels: (primary, sentinels))
        defer { system.stop() }
        #expect(await system.waitUntilTrading(), "execution did not start trading")

        // Each signal waited for until execution holds an order for it: the one published as
        // the primary dies may be delivered twice (the consumers' dedup window lives in Redis,
        // replicated asynchronously) or replaced by a newer signal, so only these are counted.
        var placed = 0
        func trade(_ side: OrderSide) async throws {
            let signal = try await system.signal(side)
            #expect(
                await TestEnvironment.eventually(timeout: .seconds(60)) {
                    guard case .array(let orders)? = (try? await system.json(system.execution, "/api/orders?limit=1000"))?["orders"]
                    else { return false }
                    return orders.contains { if case .object(let order) = $0 { order["signal"] == .string(signal.id) } else { false } }
                }, "signal \(signal.id) did not become an order")
            placed += 1
        }
        try await trade(.buy)
        try await trade(.buy)
        // The primary dies while a signal is on its way.
        let inFlight = Task { try await system.signal(.sell) }
        primary.stop()
        _ = try await inFlight.value
        let promoted = RedisConnection(endpoint: replica.endpoint)
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(100)) {
                (try? await promoted.command(["ROLE"]))?.array?.first?.string == "master"
            }, "the Sentinels never promoted host C's replica")
        // The failover is over once every Sentinel names C's Redis: only then do they take B's,
        // back, for a replica of it (back earlier, it could be taken for the primary still).
        let named = sentinels.map { RedisConnection(endpoint: RedisEndpoint(host: $0.address, port: $0.port)) }
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(200)) {
                for sentinel in named {
                    let primary = (try? await sentinel.command(["SENTINEL", "get-master-addr-by-name", "vakt"]))?.array
                    guard primary?.first?.string == replica.address, primary?.last?.string == String(replica.port) else { return false }
                }
                return true
            }, "the Sentinels never all named host C's Redis the primary")
        try await primary.start()
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(200)) {
                (try? await promoted.command(["INFO", "replication"]))?.string?.contains("connected_slaves:1") == true
            }, "host B's Redis did not become a replica of host C's")

        // Trading resumes on the promoted primary.
        try await trade(.buy)
        try await trade(.sell)
        _ = try await ExecutionProcessTests.settle(system, orders: placed)
        try await ExecutionProcessTests.verify(system)
        withExtendedLifetime((network, sentinels, standby)) {}
    }
}
