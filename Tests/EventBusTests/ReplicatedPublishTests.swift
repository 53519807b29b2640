import Foundation
import Logging
import RedisClient
import Testing
import VaktConfig
import VaktTesting

@testable import EventBus

/// A publisher that waits for a replica (`event_bus.replica_acks: 1`), against real processes on
/// loopback: a primary, its replica and three Sentinels (quorum 2).
@Suite struct ReplicatedPublishTests {
    @Test func replicaAcksAreReadAndABadValueIsNamed() throws {
        let settings = try ConfigurationLoader.parse(
            yaml: "event_bus:\n  replica_acks: 1\n  replica_ack_timeout: 250ms\n", file: "t", environment: [:]
        ).eventBus
        #expect(settings.replicaAcks == 1 && settings.replicaAckTimeout == .milliseconds(250))
        #expect(try ConfigurationLoader.parse(yaml: "", file: "t", environment: [:]).eventBus.replicaAcks == 0)
        do {
            _ = try ConfigurationLoader.parse(yaml: "event_bus:\n  replica_acks: 17\n", file: "test.yaml", environment: [:])
            Issue.record("17 replicas accepted")
        } catch {
            #expect("\(error)".contains("test.yaml:event_bus.replica_acks"), "\(error)")
        }
    }

    /// The replica stalls and loses its link, so an event reaches the primary alone; the primary
    /// is then killed and the stalled replica promoted, without that event. Counted as published
    /// on the primary's word, it would be lost. The publisher instead buffered it on disk when
    /// `WAIT` came back short, and sends it again until the new primary's replica holds it.
    @Test func anEventOnlyThePrimaryHeldIsBufferedAndReachesThePromotedReplica() async throws {
        let primary = try RedisServer()
        try await primary.start()
        let replica = try RedisServer(replicaOf: primary.port)
        try await replica.start()
        let sentinels = try await RedisSentinel.group(watching: primary.port, replicas: 1)
        let directory = try TestEnvironment.temporaryDirectory("vakt-replicated-bus")
        var settings = EventBusSettings(bufferPath: directory.appendingPathComponent("buffer.sqlite").path)
        settings.replicaAcks = 1
        let publisher = try await EventPublisher(
            redis: RedisConnection(endpoint: RedisSentinel.endpoint(sentinels)), settings: settings,
            logger: Logger(label: "test.replicated"))

        let confirmed = event(.orderFilled, 1)
        try await publisher.publish(confirmed)
        #expect(publisher.bufferState.events == 0, "the replica confirmed the first event")

        // The replica freezes and the primary drops it: the next event is on the primary only.
        replica.pause()
        let links = try await RedisConnection(endpoint: primary.endpoint).command(["CLIENT", "KILL", "TYPE", "replica"]).integer
        #expect(links == 1)
        let unconfirmed = event(.orderFilled, 2)
        try await publisher.publish(unconfirmed)
        #expect(publisher.bufferState.events == 1, "no replica confirmed it: it waits on disk")

        primary.stop()
        replica.resume()
        let promoted = RedisConnection(endpoint: replica.endpoint)
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(100)) {
                (try? await promoted.command(["ROLE"]))?.array?.first?.string == "master"
            }, "the Sentinels never promoted the replica")
        // The promoted primary has no replica yet: still unconfirmed, still on disk.
        #expect(publisher.bufferState.events == 1)
        let newReplica = try RedisServer(replicaOf: replica.port)
        try await newReplica.start()
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120), poll: .milliseconds(100)) { publisher.bufferState.events == 0 },
            "the buffer was never confirmed by the new replica")

        let ids = try await promoted.command(["XRANGE", EventType.orderFilled.stream, "-", "+"]).array ?? []
        let envelopes = ids.compactMap { entry -> EventEnvelope? in
            guard let fields = entry.array?.last?.array, fields.count == 2, case .bulk(let bytes) = fields[1] else { return nil }
            return try? EventEnvelope.decode(bytes, maximumBytes: settings.maxEnvelopeBytes)
        }
        #expect(Set(envelopes.map(\.id)) == [confirmed.id, unconfirmed.id], "both events, each once or more (consumers drop repeats)")
        withExtendedLifetime((sentinels, newReplica)) {}
    }
}
