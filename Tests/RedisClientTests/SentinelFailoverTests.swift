import RedisClient
import Testing
import VaktTesting

/// A client given Redis Sentinels instead of an address, against real processes on loopback: a
/// primary, its replica and three Sentinels (quorum 2). The primary is killed; the Sentinels
/// promote the replica, and the client's commands go on there, with what the replica had
/// acknowledged (`WAIT`) before the kill.
@Suite struct SentinelFailoverTests {
    static func endpoint(_ sentinels: [RedisEndpoint.SentinelAddress]) -> RedisEndpoint {
        // host and port name nothing: the Sentinels say where the primary is.
        RedisEndpoint(
            host: "127.0.0.1", port: 1, connectTimeout: .seconds(2), commandTimeout: .seconds(10),
            reconnectInitialDelay: .milliseconds(20), reconnectMaxDelay: .milliseconds(200), sentinels: sentinels)
    }

    @Test func aClientOfTheSentinelsFollowsAFailoverToThePromotedReplica() async throws {
        let primary = try RedisServer(persistent: true)
        try await primary.start()
        let replica = try RedisServer(replicaOf: primary.port)
        try await replica.start()
        var sentinels: [RedisSentinel] = []
        for _ in 0..<3 { sentinels.append(try await RedisSentinel(watching: primary.port, quorum: 2)) }
        // Each Sentinel knows the replica and the other two before the primary goes.
        let watcher = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: sentinels[0].port))
        for sentinel in sentinels {
            let connection = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: sentinel.port))
            #expect(
                await TestEnvironment.eventually(timeout: .seconds(60)) {
                    let replicas = (try? await connection.command(["SENTINEL", "replicas", "vakt"]))?.array?.count
                    let others = (try? await connection.command(["SENTINEL", "sentinels", "vakt"]))?.array?.count
                    return replicas == 1 && others == 2
                }, "sentinel \(sentinel.port) did not learn the group")
        }

        let client = RedisConnection(endpoint: Self.endpoint(sentinels.map(\.address)))
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
        _ = replica
    }

    @Test func noSentinelAnsweringIsAnOutageThatNamesEachOne() async throws {
        let nowhere = [RedisEndpoint.SentinelAddress(host: "127.0.0.1", port: TestEnvironment.freePort())]
        let client = RedisConnection(endpoint: Self.endpoint(nowhere))
        await #expect {
            _ = try await client.command(["PING"])
        } throws: { error in
            guard case RedisError.unavailable(let reason, _) = error else { return false }
            return reason.contains("no Sentinel named the primary") && reason.contains("sentinel 127.0.0.1:\(nowhere[0].port)")
        }
    }
}
