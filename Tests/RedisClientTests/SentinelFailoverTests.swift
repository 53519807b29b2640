import RedisClient
import Testing
import VaktTesting

/// A client given Redis Sentinels instead of an address, against real processes on loopback: a
/// primary, its replica and three Sentinels (quorum 2). The primary is killed; the Sentinels
/// promote the replica, and the client's commands go on there, with what the replica had
/// acknowledged (`WAIT`) before the kill.
@Suite struct SentinelFailoverTests {
    @Test func aClientOfTheSentinelsFollowsAFailoverToThePromotedReplica() async throws {
        let primary = try RedisServer(persistent: true)
        try await primary.start()
        let replica = try RedisServer(replicaOf: primary.port)
        try await replica.start()
        let sentinels = try await RedisSentinel.group(watching: primary.port, replicas: 1)
        let watcher = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: sentinels[0].port))

        let client = RedisConnection(endpoint: RedisSentinel.endpoint(sentinels))
        #expect(try await client.command(["SET", "before", "kept"]).string == "OK")
        #expect(try await client.command(["WAIT", "1", "10000"]).integer == 1, "the replica acknowledged the write")
        primary.stop()

        // Refused until the Sentinels agree and promote; then the same client writes to the replica.
        let followed = await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(100)) {
            (try? await client.command(["SET", "after", "written"]))?.string == "OK"
        }
        let named = try? await watcher.command(["SENTINEL", "get-master-addr-by-name", "vakt"])
        #expect(followed, "the client never reached a new primary; the Sentinels name \(String(describing: named))")
        #expect(try await client.command(["GET", "before"]).string == "kept")
        #expect(try await client.command(["ROLE"]).array?.first?.string == "master")
        let server = try await client.command(["INFO", "server"]).string ?? ""
        #expect(server.contains("tcp_port:\(replica.port)"), "the promoted replica, not another server")
        withExtendedLifetime((replica, sentinels)) {}
    }

    @Test func noSentinelAnsweringIsAnOutageThatNamesEachOne() async throws {
        let nowhere = [RedisEndpoint.SentinelAddress(host: "127.0.0.1", port: TestEnvironment.freePort())]
        let client = RedisConnection(
            endpoint: RedisEndpoint(
                host: "127.0.0.1", port: 1, connectTimeout: .seconds(2), reconnectInitialDelay: .milliseconds(20),
                reconnectMaxDelay: .milliseconds(200), sentinels: nowhere))
        await #expect {
            _ = try await client.command(["PING"])
        } throws: { error in
            guard case RedisError.unavailable(let reason, _) = error else { return false }
            return reason.contains("no Sentinel named the primary") && reason.contains("sentinel 127.0.0.1:\(nowhere[0].port)")
        }
    }
}
