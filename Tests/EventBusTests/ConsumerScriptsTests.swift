import RedisClient
import Testing
import VaktTesting

@testable import EventBus

/// The dedup and lease scripts on a real Redis, answer by answer.
@Suite struct ConsumerScriptsTests {
    func acquire(
        _ redis: RedisConnection, ids: [String], now: Int, owner: String, reclaim: Bool = false, redelivered: [String]? = nil
    ) async throws -> String {
        let reply = try await redis.command(
            ["EVAL", ConsumerScripts.acquire, "2", "events", "attempts", String(now), String(now + 1000), owner, reclaim ? "1" : "0"]
                + [String(ids.count)] + ids + (redelivered ?? []))
        return try #require(reply.array?.first?.string, "\(reply)")
    }

    @Test func leasesAreExclusiveUntilTheyEndOrTheirOwnerTakesThemBack() async throws {
        let server = try RedisServer()
        try await server.start()
        let redis = RedisConnection(endpoint: server.endpoint)
        #expect(try await acquire(redis, ids: ["a", "b"], now: 10_000, owner: "one") == "11")
        // Held by "one": another owner waits, and so does "one" itself unless it takes it back.
        #expect(try await acquire(redis, ids: ["a"], now: 10_500, owner: "two") == "2")
        #expect(try await acquire(redis, ids: ["a"], now: 10_500, owner: "one") == "2")
        #expect(try await acquire(redis, ids: ["a"], now: 10_500, owner: "two", reclaim: true) == "2")
        #expect(try await acquire(redis, ids: ["a"], now: 10_500, owner: "one", reclaim: true) == "1")
        // An ended lease is anyone's.
        #expect(try await acquire(redis, ids: ["b"], now: 11_001, owner: "two") == "1")

        // Handled ids are duplicates for everyone; a failed handler's lease is released.
        _ = try await redis.command(["HSET", "events", "a", "h"])
        _ = try await redis.command(["EVAL", ConsumerScripts.release, "1", "events", "a", "b"])
        #expect(try await redis.command(["HGET", "events", "a"]).string == "h")
        #expect(try await redis.command(["HEXISTS", "events", "b"]).integer == 0)
        #expect(try await acquire(redis, ids: ["a", "b", "c"], now: 11_002, owner: "three") == "011")
    }

    /// Only a lease counts as an attempt: reads of the entry while another consumer holds it
    /// (every claim is one in Redis's delivery count) do not make it poison.
    @Test func attemptsCountLeasesOfEntriesReadAgainNotDeliveries() async throws {
        let server = try RedisServer()
        try await server.start()
        let redis = RedisConnection(endpoint: server.endpoint)
        #expect(try await acquire(redis, ids: ["x"], now: 1_000, owner: "one") == "1")
        for _ in 0..<3 {
            #expect(try await acquire(redis, ids: ["x"], now: 1_100, owner: "two", redelivered: ["s 1-0"]) == "2")
        }
        #expect(try await redis.command(["HEXISTS", "attempts", "s 1-0"]).integer == 0)
        for attempt in 1...2 {
            let reply = try await redis.command(
                ["EVAL", ConsumerScripts.acquire, "2", "events", "attempts", String(3000 * attempt), "0", "two", "0", "1", "x", "s 1-0"])
            #expect(reply.array?.first?.string == "1")
            #expect(reply.array?.last?.array == [.integer(Int64(attempt))])
        }
    }

    @Test func trimKeepsTheNewestWindowOfHandledIds() async throws {
        let server = try RedisServer()
        try await server.start()
        let redis = RedisConnection(endpoint: server.endpoint)
        let ids = (1...10).map { "id\($0)" }
        _ = try await redis.command(["HSET", "events"] + ids.flatMap { [$0, "h"] })
        _ = try await redis.command(["RPUSH", "handled"] + ids)
        #expect(try await redis.command(["EVAL", ConsumerScripts.trim, "2", "events", "handled", "4"]).integer == 6)
        #expect(try await redis.command(["HKEYS", "events"]).array?.compactMap(\.string).sorted() == ["id10", "id7", "id8", "id9"])
        #expect(try await redis.command(["LRANGE", "handled", "0", "-1"]).array?.compactMap(\.string) == ["id7", "id8", "id9", "id10"])
    }
}
