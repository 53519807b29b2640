import EmergencyStop
import EventBus
import Foundation
import PolicyStore
import RedisClient
import ServiceKit
import Synchronization
import Testing
import VaktTesting

/// A service's policy copy and its ESS view: both must fail towards safety.
@Suite struct PolicyReplicaTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var read: @Sendable () -> Date { { self.now.withLock { $0 } } }
        func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
    }

    static func document(_ version: Int, notional: Decimal = 1000) -> PolicyDocument {
        var policy = RiskPolicy.defaults
        policy.maxOrderNotional = notional
        return PolicyDocument(version: version, updatedAt: Date(timeIntervalSince1970: 1_800_000_000), updatedBy: "test", policy: policy)
    }

    static func replica(
        redis: RedisConnection? = nil, snapshot: String = "/nonexistent", refresh: Duration = .seconds(60), clock: ManualClock? = nil
    )
        -> PolicyReplica
    {
        let read: @Sendable () -> Date
        if let clock { read = clock.read } else { read = { Date() } }
        return PolicyReplica(
            redis: redis, snapshotPath: snapshot, refreshInterval: refresh, agingLimit: .seconds(600), clock: read,
            logger: .init(label: "test"))
    }

    @Test func versionsDecideAndTheSameVersionWithOtherContentIsAConflict() {
        let replica = Self.replica()
        #expect(replica.apply(Self.document(2), from: .event) == .applied)
        #expect(replica.apply(Self.document(2, notional: 9999), from: .redis) == .conflict)
        #expect(replica.current?.document.policy.maxOrderNotional == 1000, "the copy stays")
        #expect(replica.apply(Self.document(1, notional: 5), from: .event) == .older)
        #expect(replica.apply(Self.document(2), from: .redis) == .unchanged)
        #expect(replica.apply(Self.document(3, notional: 7), from: .event) == .applied)
        #expect(replica.current?.document.version == 3)
    }

    /// The authority holds a time to the nanosecond; Redis and events carry milliseconds. The
    /// same document read back is the same, not a conflict.
    @Test func aDocumentReadBackWithMillisecondTimesIsNoConflict() throws {
        var written = Self.document(5)
        written.updatedAt = Date(timeIntervalSince1970: 1_800_000_000.123_456_789)
        let replica = Self.replica()
        #expect(replica.apply(written, from: .authority) == .applied)
        #expect(replica.apply(try PolicyDocument(data: written.data), from: .event) == .unchanged)
    }

    @Test func healthWarnsWhenTheCopyAgesPastTheLimitAndSaysHowOld() async throws {
        let clock = ManualClock()
        let replica = Self.replica(clock: clock)
        let check = PolicyAgeCheck(replica: replica)
        let empty = try await check.measure()
        #expect(empty.status == .warn && empty.output?.contains("no risk policy loaded yet") == true)
        replica.apply(Self.document(4), from: .redis)
        clock.advance(599)
        #expect(try await check.measure().status == .pass)
        clock.advance(61)
        let aged = try await check.measure()
        #expect(aged.status == .warn)
        #expect(aged.value == 660)
        #expect(aged.output == "policy version 4 from redis, confirmed 660 s ago (aging limit 600 s)")
    }

    @Test func theCopyRefreshesItselfFromRedisWithoutAnEvent() async throws {
        let redis = try RedisServer()
        try await redis.start()
        defer { redis.stop() }
        let connection = RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.port))
        func store(_ document: PolicyDocument) async throws {
            _ = try await connection.pipeline(bytes: [[Array("SET".utf8), Array(PolicyKeys.current.utf8), Array(document.data)]])
        }
        try await store(Self.document(1))
        let replica = Self.replica(redis: connection, refresh: .milliseconds(200))
        let refresher = Task { await replica.run() }
        defer { refresher.cancel() }
        #expect(await TestEnvironment.eventually { replica.current?.document.version == 1 })
        // Changed behind its back (an event lost, say): the refresh finds it.
        try await store(Self.document(2, notional: 2222))
        #expect(await TestEnvironment.eventually { replica.current?.document.version == 2 })
        #expect(replica.current?.origin == .redis)
    }

    @Test func withRedisDownTheCopyComesFromTheSnapshot() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let directory = try TestEnvironment.temporaryDirectory("policy")
        let snapshot = directory.appendingPathComponent("policy.json").path
        let temporary = try DurableFile.prepare(Self.document(3, notional: 3333).data, at: snapshot)
        try DurableFile.commit(temporary, to: snapshot)
        redis.stop()
        let replica = Self.replica(
            redis: RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.port)), snapshot: snapshot)
        await replica.refresh()
        #expect(replica.current?.document.version == 3)
        #expect(replica.current?.origin == .snapshot)
        #expect(replica.refreshError?.hasPrefix("Redis:") == true, "\(replica.refreshError ?? "")")
    }

    @Test func malformedPolicyDocumentsNameTheirFields() {
        #expect(throws: PayloadError(problems: ["policy document: not valid JSON: expected a string key at byte 1"])) {
            try PolicyDocument(data: Data("{".utf8))
        }
        var json = Self.document(1).json.objectFields
        json["version"] = .number(0)
        json["updatedAt"] = .string("yesterday")
        json["extra"] = .bool(true)
        #expect(throws: PayloadError.self) { try PolicyDocument(json: .object(json)) }
        do {
            _ = try PolicyDocument(json: .object(json))
        } catch {
            #expect(
                error.problems == [
                    "version: must be between 1 and 2147483647, got 0",
                    "updatedAt: \"yesterday\" is not an ISO 8601 time such as \"2026-11-27T10:00:00.000Z\"", "extra: unknown field",
                ])
        }
    }

    @Test func theESSClientReadsUnknownOrStaleStatusAsTripped() {
        let clock = ManualClock()
        let client = ESSClient(
            redis: RedisConnection(endpoint: RedisEndpoint(host: "127.0.0.1", port: 1)), maxAge: .seconds(5), clock: clock.read,
            logger: .init(label: "test"))
        #expect(client.current.state == .tripped)
        #expect(client.current.trigger == .stateUnknown)
        let now = clock.read()
        client.apply(
            ESSStatus(
                state: .armed, since: now, reason: "ok", source: "risk", trigger: .conditionsCleared, cooldownEndsAt: nil, confirmedAt: now)
        )
        #expect(client.current.state == .armed)
        clock.advance(5)
        #expect(client.current.state == .armed)
        clock.advance(1)
        #expect(client.current.state == .tripped)
        #expect(client.current.reason == "ESS state is 6 s old (limit 5 s): the risk service is not confirming it")
        // An older status arriving late does not replace a newer one.
        client.apply(
            ESSStatus(
                state: .armed, since: now, reason: "old", source: "risk", trigger: .conditionsCleared, cooldownEndsAt: nil,
                confirmedAt: now - 10))
        #expect(client.current.state == .tripped)
    }
}

extension JSONValue {
    var objectFields: [String: JSONValue] {
        if case .object(let fields) = self { fields } else { [:] }
    }
}
