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
