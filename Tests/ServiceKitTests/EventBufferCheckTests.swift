import EventBus
import Logging
import RedisClient
import Testing
import VaktConfig
import VaktTesting

@testable import ServiceKit

@Suite struct EventBufferCheckTests {
    @Test func passesEmptyWarnsWhileBufferingFailsWhenFull() async throws {
        let redis = try RedisServer()
        try await redis.start()
        let directory = try TestEnvironment.temporaryDirectory("vakt-buffer-check")
        var settings = EventBusSettings(bufferPath: directory.appendingPathComponent("b.sqlite").path)
        settings.bufferMaxEvents = 3
        settings.whenFull = .reject
        let publisher = try await EventPublisher(
            redis: RedisConnection(endpoint: redis.endpoint), settings: settings, logger: Logger(label: "test"))
        let check = EventBufferCheck(publisher: publisher)
        let tick = EventEnvelope(type: .marketTick, source: "test", payload: .null)

        try await publisher.publish(tick)
        #expect(try await check.measure().status == .pass)

        redis.stop()
        try await publisher.publish(tick)
        let buffering = try await check.measure()
        #expect(buffering.status == .warn)
        #expect(buffering.output == "1 events buffered on disk, waiting for Redis")

        try await publisher.publish([tick, tick])
        let full = try await check.measure()
        #expect(full.status == .fail)
        #expect(full.output?.hasPrefix("disk buffer full (3 events") == true)
        await #expect(throws: EventPublisher.PublishError.self) { try await publisher.publish(tick) }

        try await redis.start()
        #expect(await TestEnvironment.eventually { (try? await check.measure().status) == .pass })
    }
}
