import EventBus
import Foundation
import Logging
import RedisClient
import VaktConfig

/// `--publish-redis-port P --buffer FILE`: publishes `market.tick` events with sequence numbers
/// as fast as it can, writing "published N" only after `publish` returned for event N, so a
/// test can kill it at any moment and know what it was promised.
func publishForever(redisPort: Int, bufferPath: String) async -> Never {
    let endpoint = RedisEndpoint(
        host: "127.0.0.1", port: redisPort, reconnectInitialDelay: .milliseconds(20), reconnectMaxDelay: .milliseconds(200))
    let settings = EventBusSettings(bufferPath: bufferPath)
    do {
        let publisher = try await EventPublisher(
            redis: RedisConnection(endpoint: endpoint), settings: settings, logger: Logger(label: "test-child"))
        say("publisher ready buffered=\(publisher.bufferState.events)")
        var sequence = Int(ProcessInfo.processInfo.environment["START_SEQUENCE"] ?? "0") ?? 0
        while true {
            try await publisher.publish(
                EventEnvelope(type: .marketTick, source: "test-child", payload: .object(["sequence": .number(Double(sequence))])))
            say("published \(sequence)")
            sequence += 1
        }
    } catch {
        say("publish failed: \(error)")
        exit(1)
    }
}

/// `--consume-redis-port P --consumer NAME --hold-ms N`: consumes `market.tick` in group "test",
/// printing "start N" when a handler begins and "done N" when it returns, holding each for
/// N ms, so a test can kill it in the middle of a batch.
func consumeForever(redisPort: Int, consumer: String, holdMilliseconds: Int) async -> Never {
    let endpoint = RedisEndpoint(host: "127.0.0.1", port: redisPort)
    var settings = EventBusSettings(bufferPath: "")
    settings.claimIdle = .seconds(3600)
    // Renewed at half-term while it runs; a killed child's events are free once it ends.
    settings.inflightLease = .seconds(5)
    let reader = EventConsumer(
        endpoint: endpoint, group: "test", consumer: consumer, types: [.marketTick], settings: settings, logger: Logger(label: "test-child")
    ) { envelope in
        guard case .object(let fields) = envelope.payload, case .number(let sequence)? = fields["sequence"] else { return }
        say("start \(Int(sequence))")
        try await Task.sleep(for: .milliseconds(holdMilliseconds))
        say("done \(Int(sequence))")
    }
    await reader.run()
    exit(0)
}
