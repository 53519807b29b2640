import Foundation
import RedisClient
import Testing
import VaktConfig
import VaktTesting

@testable import EventBus

#if canImport(Glibc)
    import Glibc
#endif

/// `vakt events stats|replay|tail` against a real Redis.
@Suite struct EventsCommandTests {
    @Test func statsReplayAndTail() async throws {
        let bus = try await BusFixture()
        let configuration = try TestConfiguration(redisPort: bus.redis.port, postgres: nil)
        let settings = bus.settings()
        let handled = Handled()
        let consumer = bus.consume([.orderFilled], group: "portfolio", settings: settings) { handled.append($0) }
        defer { consumer.cancel() }
        #expect(await bus.waitForGroup(.orderFilled, group: "portfolio"))
        let publisher = try await bus.publisher(settings)
        try await publisher.publish((0..<5).map { event(.orderFilled, $0) })
        #expect(await TestEnvironment.eventually { handled.count == 5 })
        let vakt = TestEnvironment.vaktExecutable
        let base = ["--config", configuration.path]

        let stats = try await TestEnvironment.run(vakt, ["events", "stats", "--json", "order.filled"] + base)
        #expect(stats.status == 0, "\(stats.output)")
        let decoded = try JSONDecoder().decode([EventStreamInspector.StreamStats].self, from: Data(stats.output.utf8))
        #expect(decoded.first?.length == 5)
        #expect(decoded.first?.groups.first?.name == "portfolio")
        #expect(decoded.first?.groups.first?.pending == 0)
        #expect(decoded.first?.groups.first?.lag == 0)

        let replay = try await TestEnvironment.run(vakt, ["events", "replay", "order.filled"] + base)
        #expect(replay.status == 0)
        let replayed = try replay.output.split(separator: "\n").map { try EventEnvelope.decode(Array($0.utf8), maximumBytes: 1 << 20) }
        #expect(replayed.map(sequence(of:)) == [0, 1, 2, 3, 4])

        let mistyped = try await TestEnvironment.run(
            vakt, ["events", "replay", "order.filled", "--group", "portfolo", "--reprocess"] + base)
        #expect(mistyped.status != 0)
        #expect(mistyped.output.contains("stream order.filled has no consumer group \"portfolo\""), "\(mistyped.output)")

        // Into the group: with --reprocess the handlers see the events again.
        let rewind = try await TestEnvironment.run(
            vakt, ["events", "replay", "order.filled", "--group", "portfolio", "--reprocess"] + base)
        #expect(rewind.status == 0, "\(rewind.output)")
        #expect(rewind.output.contains("5 handled ids forgotten"))
        #expect(await TestEnvironment.eventually { handled.count == 10 })

        let tail = try ServiceProcess(arguments: ["events", "tail", "order.filled"] + base)
        #expect(await TestEnvironment.eventually { tail.output().contains("following 1 streams from their ends") }, "\(tail.output())")
        try await publisher.publish(event(.orderFilled, 99))
        #expect(await TestEnvironment.eventually { tail.output().contains("\"sequence\":99") }, "\(tail.output())")
        #expect(!tail.output().contains("\"sequence\":4"), "tail starts at the end of the stream")
        tail.signal(SIGTERM)
        _ = await tail.waitForExit()

        let bad = try await TestEnvironment.run(vakt, ["events", "stats", "order.teleported"] + base)
        #expect(bad.status != 0)
        #expect(bad.output.contains("unknown event type \"order.teleported\""))
    }
}
