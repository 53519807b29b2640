import Foundation
import Logging
import RedisClient
import Synchronization
import Testing
import VaktConfig
import VaktTesting

@testable import EventBus

#if canImport(Glibc)
    import Glibc
#endif

/// What a consumer handled, in order.
final class Handled: Sendable {
    private let envelopes = Mutex<[EventEnvelope]>([])
    func append(_ envelope: EventEnvelope) { envelopes.withLock { $0.append(envelope) } }
    var all: [EventEnvelope] { envelopes.withLock { $0 } }
    var count: Int { envelopes.withLock { $0.count } }
}

struct BusFixture {
    let redis: RedisServer
    let directory: URL
    let logger = Logger(label: "test.eventbus")

    init(persistent: Bool = false) async throws {
        redis = try RedisServer(persistent: persistent)
        try await redis.start()
        directory = try TestEnvironment.temporaryDirectory("vakt-bus")
    }

    func settings(_ change: (inout EventBusSettings) -> Void = { _ in }) -> EventBusSettings {
        var settings = EventBusSettings(
            bufferPath: directory.appendingPathComponent("buffer.sqlite").path, blockFor: .milliseconds(200), claimIdle: .milliseconds(300),
            maxDeliveries: 3)
        change(&settings)
        return settings
    }

    func publisher(_ settings: EventBusSettings) async throws -> EventPublisher {
        try await EventPublisher(redis: RedisConnection(endpoint: redis.endpoint), settings: settings, logger: logger)
    }

    /// A consumer running in a task; cancel the task to stop it.
    func consume(
        _ types: [EventType], group: String = "test", consumer: String = "c1", settings: EventBusSettings,
        handler: @escaping EventConsumer.Handler
    ) -> Task<Void, Never> {
        let consumer = EventConsumer(
            endpoint: redis.endpoint, group: group, consumer: consumer, types: types, settings: settings, logger: logger, handler: handler)
        return Task { await consumer.run() }
    }

    /// Waits until the consumer group exists, so nothing published afterwards is missed.
    func waitForGroup(_ type: EventType, group: String = "test") async -> Bool {
        let probe = RedisConnection(endpoint: redis.endpoint)
        return await TestEnvironment.eventually {
            guard case .array(let groups)? = try? await probe.command(["XINFO", "GROUPS", type.stream]) else { return false }
            return groups.contains { $0.array?.contains { $0.string == group } == true }
        }
    }

    /// Each entry of `stream` as its fields, values as text.
    func entries(_ stream: String) async throws -> [[String: String]] {
        let items = try await RedisConnection(endpoint: redis.endpoint).command(["XRANGE", stream, "-", "+"]).array ?? []
        return items.map { item in
            let flat = item.array?.last?.array ?? []
            var fields: [String: String] = [:]
            for index in stride(from: 0, to: flat.count - 1, by: 2) {
                if let key = flat[index].string { fields[key] = flat[index + 1].string }
            }
            return fields
        }
    }
}

func event(_ type: EventType, _ sequence: Int) -> EventEnvelope {
    EventEnvelope(type: type, source: "test", payload: .object(["sequence": .number(Double(sequence))]))
}

func sequence(of envelope: EventEnvelope) -> Int {
    if case .object(let object) = envelope.payload, case .number(let value)? = object["sequence"] { return Int(value) }
    return -1
}

@Suite struct EventBusTests {
    @Test func publishedEventsAreHandledOnceInOrderPerStream() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings()
        let handled = Handled()
        let consumer = bus.consume([.orderFilled, .marketTick], settings: settings) { handled.append($0) }
        defer { consumer.cancel() }
        #expect(await bus.waitForGroup(.marketTick))
        let publisher = try await bus.publisher(settings)
        for index in 0..<200 {
            try await publisher.publish(event(index.isMultiple(of: 2) ? .orderFilled : .marketTick, index))
        }
        #expect(await TestEnvironment.eventually { handled.count == 200 })
        let all = handled.all
        for type in [EventType.orderFilled, .marketTick] {
            let sequences = all.filter { $0.type == type }.map(sequence(of:))
            #expect(sequences == sequences.sorted() && sequences.count == 100)
        }
        #expect(Set(all.map(\.id)).count == 200)
    }

    @Test func duplicateEnvelopeIsHandledOnce() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings()
        let handled = Handled()
        let consumer = bus.consume([.policyUpdated], settings: settings) { handled.append($0) }
        defer { consumer.cancel() }
        #expect(await bus.waitForGroup(.policyUpdated))
        let publisher = try await bus.publisher(settings)
        let once = event(.policyUpdated, 1)
        try await publisher.publish([once, once, event(.policyUpdated, 2), once])
        #expect(await TestEnvironment.eventually { handled.count == 2 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(handled.all.map(sequence(of:)) == [1, 2])
    }

    @Test func theDedupWindowKeepsTheLastHandledIdsAndForgetsOlderOnes() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings {
            $0.dedupWindow = 100
            $0.batchSize = 30
        }
        let handled = Handled()
        let consumer = bus.consume([.policyUpdated], settings: settings) { handled.append($0) }
        defer { consumer.cancel() }
        #expect(await bus.waitForGroup(.policyUpdated))
        let publisher = try await bus.publisher(settings)
        let events = (1...400).map { event(.policyUpdated, $0) }
        for chunk in stride(from: 0, to: events.count, by: 50) { try await publisher.publish(Array(events[chunk..<chunk + 50])) }
        #expect(await TestEnvironment.eventually { handled.count == 400 })

        // Trimmed in steps: at least the window, at most the window and its slack; no lease left.
        let raw = RedisConnection(endpoint: bus.redis.endpoint)
        let remembered = try #require(try await raw.command(["HLEN", "vakt:events:test"]).integer)
        #expect((100...(100 + Int64(ConsumerScripts.trimSlack(window: 100)))).contains(remembered), "\(remembered)")
        #expect(try await raw.command(["LLEN", "vakt:handled:test"]).integer == remembered)
        let states = try await raw.command(["HVALS", "vakt:events:test"]).array ?? []
        #expect(states.allSatisfy { $0.string == "h" })

        // The newest id is still a duplicate; the oldest has left the window and runs again.
        try await publisher.publish([events[399], events[0], event(.policyUpdated, 401)])
        #expect(await TestEnvironment.eventually { handled.all.last.map(sequence(of:)) == 401 })
        #expect(handled.all.suffix(2).map(sequence(of:)) == [1, 401])
        #expect(handled.count == 402)
    }

    /// A batch whose handlers together take longer than the lease keeps its leases (renewed at
    /// half-term), so another member that claims its idle entries leaves them alone.
    @Test func aSlowBatchKeepsItsLeasesWhileAnotherMemberClaims() async throws {
        let bus = try await BusFixture()
        // Lease 20 s (twice claim_idle), renewed after 10 s; 25 handlers of 1.2 s take 30 s. Only
        // a stall of about 9 s between two handlers could let the lease run out (with a lease
        // of 6 s a fresh clone's suite once stalled this test's tasks for the 3 s that lost it).
        let settings = bus.settings {
            $0.batchSize = 25
            $0.claimIdle = .seconds(10)
            $0.maxDeliveries = 100
        }
        // All 25 on the stream before the slow member reads: one read, one batch, one lease term.
        let raw = RedisConnection(endpoint: bus.redis.endpoint)
        _ = try await raw.command(["XGROUP", "CREATE", "order.canceled", "test", "0", "MKSTREAM"])
        let publisher = try await bus.publisher(settings)
        try await publisher.publish((1...25).map { event(.orderCanceled, $0) })
        let bySlow = Handled()
        let byClaimer = Handled()
        let slow = bus.consume([.orderCanceled], consumer: "slow", settings: settings) { event in
            try await Task.sleep(for: .milliseconds(1_200))
            bySlow.append(event)
        }
        defer { slow.cancel() }
        #expect(await TestEnvironment.eventually { bySlow.count >= 1 })
        let claimer = bus.consume([.orderCanceled], consumer: "claimer", settings: settings) { byClaimer.append($0) }
        defer { claimer.cancel() }

        // Done when every entry is acknowledged: the slow member acknowledges only what it handled.
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(180)) {
                guard bySlow.count + byClaimer.count >= 25, let pending = try? await raw.command(["XPENDING", "order.canceled", "test"])
                else { return false }
                return pending.array?.first == .integer(0)
            })
        #expect(bySlow.all.map(sequence(of:)) == Array(1...25))
        #expect(byClaimer.all.isEmpty, "the claimer ran \(byClaimer.all.map(sequence(of:)))")
    }

    /// A consumer records what it handled in the round trip of the next batch's lease script;
    /// stopped, it records what is left, so a restart runs none of those handlers again.
    @Test func aConsumerStoppedCleanlyLeavesNothingHandledUnrecorded() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings { $0.batchSize = 20 }
        let handled = Handled()
        let consumer = bus.consume([.orderSubmitted], settings: settings) { handled.append($0) }
        #expect(await bus.waitForGroup(.orderSubmitted))
        let publisher = try await bus.publisher(settings)
        for chunk in 0..<10 { try await publisher.publish((1...50).map { event(.orderSubmitted, chunk * 50 + $0) }) }
        #expect(await TestEnvironment.eventually { handled.count == 500 })
        consumer.cancel()
        await consumer.value

        let raw = RedisConnection(endpoint: bus.redis.endpoint)
        let pending = try await raw.command(["XPENDING", "order.submitted", "test"])
        #expect(pending.array?.first == .integer(0), "\(pending)")
        #expect(try await raw.command(["LLEN", "vakt:handled:test"]).integer == 500)
        let again = bus.consume([.orderSubmitted], settings: settings) { handled.append($0) }
        defer { again.cancel() }
        try await publisher.publish([event(.orderSubmitted, 501)])
        #expect(await TestEnvironment.eventually { handled.count >= 501 })
        #expect(handled.all.map(sequence(of:)) == Array(1...501))
    }

    @Test func poisonGoesToTheDeadLetterStreamAndTheStreamKeepsFlowing() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings()
        let handled = Handled()
        let consumer = bus.consume([.signalGenerated], settings: settings) { envelope in
            if sequence(of: envelope) == 13 { throw PoisonError() }
            handled.append(envelope)
        }
        defer { consumer.cancel() }
        #expect(await bus.waitForGroup(.signalGenerated))
        let raw = RedisConnection(endpoint: bus.redis.endpoint)
        _ = try await raw.command(["XADD", "signal.generated", "*", "envelope", "{not json"])
        _ = try await raw.command(["XADD", "signal.generated", "*", "something", "else"])
        let publisher = try await bus.publisher(settings)
        try await publisher.publish([event(.signalGenerated, 12), event(.signalGenerated, 13), event(.signalGenerated, 14)])

        #expect(await TestEnvironment.eventually(timeout: .seconds(120)) { (try? await bus.entries("dlq.signal.generated").count) == 3 })
        let reasons = try await bus.entries("dlq.signal.generated").map { $0["reason"] ?? "" }
        #expect(reasons.contains { $0.contains("undecodable envelope: not JSON") })
        #expect(reasons.contains { $0.contains("entry has no envelope field") })
        #expect(reasons.contains { $0.contains("delivered 4 times; last error: poisoned") })
        #expect(handled.all.map(sequence(of:)) == [12, 14])
        // Nothing is left pending: every entry was acknowledged, poison included.
        let pending = try await raw.command(["XPENDING", "signal.generated", "test"])
        #expect(pending.array?.first == .integer(0))
    }

    /// A handler whose database is down throws `DependencyUnavailable`: the event is retried in
    /// place (its lease kept) far past `max_deliveries`, never dead-lettered, and the events
    /// behind it wait; once the database answers, each is handled once, in order.
    @Test func anEventWhoseDependencyIsDownWaitsInPlaceAndIsNeverDeadLettered() async throws {
        let bus = try await BusFixture()
        // A lease of 2 s, renewed as the handler waits; one delivery allowed before poison.
        let settings = bus.settings {
            $0.claimIdle = .seconds(1)
            $0.maxDeliveries = 1
        }
        let down = Atomic<Bool>(true)
        let attempts = Atomic<Int>(0)
        let handled = Handled()
        let consumer = bus.consume([.orderFilled], settings: settings) { envelope in
            if sequence(of: envelope) == 2 {
                attempts.add(1, ordering: .relaxed)
                if down.load(ordering: .relaxed) { throw DependencyUnavailable("PostgreSQL", reason: "connection refused") }
            }
            handled.append(envelope)
        }
        defer { consumer.cancel() }
        #expect(await bus.waitForGroup(.orderFilled))
        let publisher = try await bus.publisher(settings)
        try await publisher.publish([event(.orderFilled, 1), event(.orderFilled, 2)])
        // The lease renewed and the poison limit of one delivery passed many times over.
        #expect(await TestEnvironment.eventually(timeout: .seconds(120)) { attempts.load(ordering: .relaxed) >= 8 })
        try await publisher.publish([event(.orderFilled, 3), event(.orderFilled, 4)])
        #expect(await TestEnvironment.eventually(timeout: .seconds(120)) { attempts.load(ordering: .relaxed) >= 10 })
        #expect(handled.all.map(sequence(of:)) == [1], "nothing overtakes the waiting event")
        #expect(try await bus.entries("dlq.order.filled").isEmpty)

        down.store(false, ordering: .relaxed)
        #expect(await TestEnvironment.eventually(timeout: .seconds(120)) { handled.count == 4 })
        #expect(handled.all.map(sequence(of:)) == [1, 2, 3, 4])
        #expect(try await bus.entries("dlq.order.filled").isEmpty)
        let raw = RedisConnection(endpoint: bus.redis.endpoint)
        #expect(
            await TestEnvironment.eventually {
                (try? await raw.command(["XPENDING", "order.filled", "test"]))?.array?.first == .integer(0)
            }, "every entry acknowledged")
    }

    @Test func entriesOfADeadConsumerAreClaimedAndHandledOnce() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings()
        // The first consumer takes a batch and never finishes it, as if killed mid-batch.
        let stuck = bus.consume([.orderSubmitted], consumer: "dies", settings: settings) { _ in
            try await Task.sleep(for: .seconds(3600))
        }
        #expect(await bus.waitForGroup(.orderSubmitted))
        let publisher = try await bus.publisher(settings)
        try await publisher.publish((0..<20).map { event(.orderSubmitted, $0) })
        let raw = RedisConnection(endpoint: bus.redis.endpoint)
        #expect(
            await TestEnvironment.eventually {
                (try? await raw.command(["XPENDING", "order.submitted", "test"]))?.array?.first != .integer(0)
            })
        stuck.cancel()

        let handled = Handled()
        let survivor = bus.consume([.orderSubmitted], consumer: "survives", settings: settings) { handled.append($0) }
        defer { survivor.cancel() }
        #expect(await TestEnvironment.eventually { handled.count == 20 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(handled.all.map(sequence(of:)).sorted() == Array(0..<20))
    }

    @Test func fullBufferRejectsOrBlocksThenFailsAndKeepsWhatItHas() async throws {
        let bus = try await BusFixture()
        bus.redis.stop()
        let rejecting = try await bus.publisher(
            bus.settings {
                $0.bufferMaxEvents = 5; $0.whenFull = .reject
            })
        try await rejecting.publish((0..<5).map { event(.marketTick, $0) })
        await #expect(throws: EventPublisher.PublishError.bufferFull(events: 5, bytes: rejecting.bufferState.bytes)) {
            try await rejecting.publish(event(.marketTick, 5))
        }
        #expect(rejecting.bufferState.events == 5)
        #expect(rejecting.bufferState.isFull)

        let blockingDirectory = try TestEnvironment.temporaryDirectory("vakt-bus-block")
        let blocking = try await bus.publisher(
            bus.settings {
                $0.bufferPath = blockingDirectory.appendingPathComponent("b.sqlite").path
                $0.bufferMaxEvents = 1
                $0.whenFull = .block
                $0.blockTimeout = .milliseconds(300)
            })
        try await blocking.publish(event(.marketTick, 0))
        let started = ContinuousClock.now
        await #expect(throws: EventPublisher.PublishError.self) { try await blocking.publish(event(.marketTick, 1)) }
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(blocking.bufferState.events == 1)
    }

    @Test func oversizedEventIsRefused() async throws {
        let bus = try await BusFixture()
        let publisher = try await bus.publisher(bus.settings { $0.maxEnvelopeBytes = 300 })
        let big = EventEnvelope(type: .marketTick, source: "test", payload: .string(String(repeating: "x", count: 400)))
        await #expect(throws: EventPublisher.PublishError.self) { try await publisher.publish(big) }
        #expect(try await bus.entries("market.tick").isEmpty)
    }

    @Test func bufferedEventsSurviveTheirPublisherAndAreFlushedByTheNextOne() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings()
        bus.redis.stop()
        do {
            let first = try await bus.publisher(settings)
            try await first.publish((0..<50).map { event(.positionUpdated, $0) })
            #expect(first.bufferState.events == 50)
        }
        try await bus.redis.start()
        _ = try await RedisConnection(endpoint: bus.redis.endpoint).command([
            "XGROUP", "CREATE", "position.updated", "test", "0", "MKSTREAM",
        ])
        let handled = Handled()
        let consumer = bus.consume([.positionUpdated], settings: settings) { handled.append($0) }
        defer { consumer.cancel() }
        let second = try await bus.publisher(settings)
        try await second.publish(event(.positionUpdated, 50))
        #expect(await TestEnvironment.eventually { handled.count == 51 })
        #expect(handled.all.map(sequence(of:)) == Array(0...50), "buffered events first, in order, then the new one")
        #expect(await TestEnvironment.eventually { second.bufferState.events == 0 })
    }

    /// Two members of one group with one name share one pending list: each reads the other's
    /// pending entries, and claims the entries of the other's slow handlers. The dedup check
    /// and lease are one script, so every event id is handled exactly once all the same.
    @Test func twoConsumersOfOneNameHandleEachEventExactlyOnce() async throws {
        let bus = try await BusFixture()
        // The poison limit is not the subject: under a loaded run, 300 ms claims move entries
        // between the two members often enough to reach the fixture's 3 deliveries.
        let settings = bus.settings {
            $0.inflightLease = .seconds(120)
            $0.maxDeliveries = 1000
        }
        let raw = RedisConnection(endpoint: bus.redis.endpoint)
        let counts = Mutex<[String: Int]>([:])
        // The first event's handler holds its batch until the other member, idle meanwhile, has
        // claimed entries of it (a delivery count rises): they must not be handled twice.
        let handler: EventConsumer.Handler = { envelope in
            counts.withLock { $0[envelope.id, default: 0] += 1 }
            guard sequence(of: envelope) == 0 else { return }
            _ = await TestEnvironment.eventually(timeout: .seconds(60)) {
                guard case .array(let rows)? = try? await raw.command(["XPENDING", "order.filled", "test", "-", "+", "1000"]) else {
                    return false
                }
                return rows.contains { row in (row.array?.count ?? 0) >= 4 && (row.array?[3].integer ?? 0) >= 2 }
            }
        }
        let first = bus.consume([.orderFilled], consumer: "same", settings: settings, handler: handler)
        let second = bus.consume([.orderFilled], consumer: "same", settings: settings, handler: handler)
        defer {
            first.cancel()
            second.cancel()
        }
        #expect(await bus.waitForGroup(.orderFilled))
        let publisher = try await bus.publisher(settings)
        let count = 1000
        try await publisher.publish((0..<50).map { event(.orderFilled, $0) })
        #expect(await TestEnvironment.eventually(timeout: .seconds(60)) { counts.withLock { $0.count } == 50 })
        // Then a stream both read at once, each re-reading the pending list they share.
        for start in stride(from: 50, to: count, by: 50) {
            try await publisher.publish((start..<(start + 50)).map { event(.orderFilled, $0) })
        }
        let settled = await TestEnvironment.eventually(timeout: .seconds(120)) {
            guard counts.withLock({ $0.count }) == count else { return false }
            return (try? await raw.command(["XPENDING", "order.filled", "test"]))?.array?.first == .integer(0)
        }
        let pending = try await raw.command(["XPENDING", "order.filled", "test"])
        #expect(settled, "handled \(counts.withLock { $0.count }) of \(count); pending \(pending)")
        let twice = counts.withLock { $0.filter { $0.value != 1 } }
        #expect(twice.isEmpty, "handled more than once: \(twice.count) events")
        let deadLettered = (try? await bus.entries("dlq.order.filled").count) ?? 0
        #expect(deadLettered == 0, "nothing in flight was taken for poison")
    }

    /// A consumer retrying a Redis that is away says so once, counts every failed read, and says
    /// once that it reads again: not a warning per attempt.
    @Test func aConsumerLogsALostRedisOnceAndItsReturnOnce() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings()
        let log = LogRecorder()
        let handled = Handled()
        let consumer = EventConsumer(
            endpoint: bus.redis.endpoint, group: "test", consumer: "c1", types: [.marketTick], settings: settings, logger: log.logger()
        ) { handled.append($0) }
        let running = Task { await consumer.run() }
        defer { running.cancel() }
        #expect(await bus.waitForGroup(.marketTick))
        bus.redis.stop()
        #expect(await TestEnvironment.eventually { consumer.readFailures >= 10 })
        #expect(log.count(.warning, containing: "cannot read") == 1, "\(log.all.map(\.message))")

        // Redis comes back empty: the consumer makes its group again and reads.
        try await bus.redis.start()
        #expect(await bus.waitForGroup(.marketTick))
        try await bus.publisher(settings).publish(event(.marketTick, 1))
        #expect(await TestEnvironment.eventually { handled.count == 1 })
        #expect(log.count(.notice, containing: "reading again") == 1, "\(log.all.map(\.message))")
        #expect(log.count(.warning, containing: "cannot read") == 1)
        let back = try #require(log.all.first { $0.message.contains("reading again") })
        #expect(Int(back.metadata["failed_reads"]?.description ?? "") ?? 0 >= 10)
    }

    /// 1,000 events/s while Redis is down for `TEST_OUTAGE_SECONDS` (default 15; the documented
    /// soak uses 120): every event is handled exactly once, in publish order per stream.
    @Test func outageLosesNothingAndKeepsOrder() async throws {
        let outage = Double(ProcessInfo.processInfo.environment["TEST_OUTAGE_SECONDS"] ?? "") ?? 15
        let bus = try await BusFixture(persistent: true)
        let settings = bus.settings()
        let handled = Handled()
        let consumer = bus.consume([.marketTick, .orderFilled], settings: settings) { handled.append($0) }
        defer { consumer.cancel() }
        #expect(await bus.waitForGroup(.orderFilled))
        let publisher = try await bus.publisher(settings)

        // Ten events every 10 ms: 1,000 events/s, for 1 s before, the outage, and 1 s after.
        // The outage lasts until at least 100 events went into it as well: a loaded machine
        // publishes slower (the disk buffer syncs each batch), and then the outage is longer,
        // not emptier.
        var published = 0
        var publishedDuringOutage = 0
        let start = ContinuousClock.now
        var stopped = false
        var restartedAt: ContinuousClock.Instant?
        while restartedAt.map({ ContinuousClock.now - $0 < .seconds(1) }) ?? true {
            let elapsed = ContinuousClock.now - start
            if !stopped && elapsed >= .seconds(1) {
                bus.redis.stop()
                stopped = true
            }
            if stopped && restartedAt == nil && elapsed >= .seconds(1 + outage) && publishedDuringOutage >= 100 {
                try await bus.redis.start()
                restartedAt = .now
            }
            let batch = (0..<10).map { event($0.isMultiple(of: 2) ? .marketTick : .orderFilled, published + $0) }
            try await publisher.publish(batch)
            published += batch.count
            if stopped && restartedAt == nil { publishedDuringOutage += batch.count }
            let next = start + .milliseconds(Int64(published))
            if next > ContinuousClock.now { try await Task.sleep(until: next, clock: .continuous) }
        }
        #expect(publishedDuringOutage >= 100, "published \(publishedDuringOutage) while Redis was down")
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(60)) { handled.count >= published },
            "handled \(handled.count) of \(published)")
        try await Task.sleep(for: .milliseconds(500))
        let all = handled.all
        #expect(all.count == published, "count in equals count out")
        #expect(Set(all.map(\.id)).count == published, "each event handled exactly once")
        for type in [EventType.marketTick, .orderFilled] {
            let sequences = all.filter { $0.type == type }.map(sequence(of:))
            #expect(sequences == sequences.sorted(), "\(type.rawValue) out of order")
        }
    }
}

struct PoisonError: Error, CustomStringConvertible {
    var description: String { "poisoned" }
}

@Suite struct ConsumerCrashTests {
    /// SIGKILL a consumer process in the middle of a batch: another member claims what it left
    /// pending after the idle time, and each event is handled once, by one of them.
    @Test func entriesOfAKilledConsumerAreClaimedAndEachHandledOnce() async throws {
        let bus = try await BusFixture()
        let settings = bus.settings()
        _ = try await RedisConnection(endpoint: bus.redis.endpoint).command(["XGROUP", "CREATE", "market.tick", "test", "0", "MKSTREAM"])
        let publisher = try await bus.publisher(settings)
        try await publisher.publish((0..<30).map { event(.marketTick, $0) })

        let child = TestEnvironment.buildDirectory.appendingPathComponent("VaktTestChild").path
        let doomed = try ServiceProcess(
            arguments: [], executable: child,
            // A second per entry: killed once it has started the sixth, it has 24 s of work
            // left (at 100 ms a fresh clone beside the suite finished all 30 before the kill).
            extraArguments: ["--consume-redis-port", String(bus.redis.port), "--consumer", "doomed", "--hold-ms", "1000"])
        #expect(await TestEnvironment.eventually { doomed.output().contains("start 5\n") }, "\(doomed.output())")
        doomed.signal(SIGKILL)
        _ = await doomed.waitForExit()
        let finished = Set(doomed.output().split(separator: "\n").compactMap { $0.hasPrefix("done ") ? Int($0.dropFirst(5)) : nil })
        #expect(!finished.isEmpty && finished.count < 30)

        let handled = Handled()
        let survivor = bus.consume([.marketTick], consumer: "survivor", settings: settings) { handled.append($0) }
        defer { survivor.cancel() }
        #expect(
            await TestEnvironment.eventually(timeout: .seconds(120)) {
                Set(handled.all.map(sequence(of:))).union(finished) == Set(0..<30)
            }, "\(finished.count) + \(handled.count)")
        try await Task.sleep(for: .milliseconds(700))
        let taken = handled.all.map(sequence(of:))
        #expect(Set(taken).count == taken.count, "the survivor handled something twice")
        // A handler that returned as the kill came, before its entry was marked handled, runs
        // again (at least once: the mark follows the handler); nothing finished earlier does.
        // A CI run beside the suite saw it: "done 6" printed, killed before the mark.
        let repeated = Set(taken).intersection(finished)
        #expect(repeated.isSubset(of: [finished.max() ?? -1]), "the survivor repeated \(repeated.sorted()), finished before the kill")
    }
}

@Suite struct PublisherCrashTests {
    /// SIGKILL a publisher process while Redis is down and it is buffering; a new publisher
    /// on the same buffer flushes it: every event `publish` returned for reaches Redis.
    @Test func eventsConfirmedBeforeAKillAreNotLost() async throws {
        // Persistent: what Redis acknowledged before it went down must still be there after.
        let bus = try await BusFixture(persistent: true)
        let buffer = bus.directory.appendingPathComponent("crash.sqlite").path
        let child = TestEnvironment.buildDirectory.appendingPathComponent("VaktTestChild").path
        let arguments = ["--publish-redis-port", String(bus.redis.port), "--buffer", buffer]

        let first = try ServiceProcess(arguments: [], environment: [:], executable: child, extraArguments: arguments)
        #expect(await TestEnvironment.eventually { first.output().contains("published 200\n") }, "\(first.output())")
        bus.redis.stop()
        // Let it buffer for a while, then kill it mid-stream.
        try await Task.sleep(for: .milliseconds(700))
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        let confirmed = first.output().split(separator: "\n").compactMap { line in
            line.hasPrefix("published ") ? Int(line.dropFirst(10)) : nil
        }
        let highest = try #require(confirmed.max())
        #expect(highest > 200)

        try await bus.redis.start()
        let second = try ServiceProcess(
            arguments: [], environment: ["START_SEQUENCE": "1000000"], executable: child, extraArguments: arguments)
        #expect(await TestEnvironment.eventually { second.output().contains("publisher ready buffered=") })
        let stored = await TestEnvironment.eventually(timeout: .seconds(120)) {
            let sequences = Set(
                ((try? await bus.entries("market.tick")) ?? []).compactMap { fields -> Int? in
                    guard let text = fields["envelope"], let envelope = try? EventEnvelope.decode(Array(text.utf8), maximumBytes: 1 << 20)
                    else { return nil }
                    return sequence(of: envelope)
                })
            return (0...highest).allSatisfy(sequences.contains)
        }
        #expect(stored, "some events confirmed before the kill never reached Redis")
        second.signal(SIGKILL)
    }
}

@Suite struct RetentionTests {
    @Test func perStreamRetentionTrimsByLengthOrAge() async throws {
        let bus = try await BusFixture()
        // One entry per stream node makes Redis's approximate trimming (~) exact.
        _ = try await RedisConnection(endpoint: bus.redis.endpoint).command(["CONFIG", "SET", "stream-node-max-entries", "1"])
        let publisher = try await bus.publisher(
            bus.settings {
                $0.retention["market.tick"] = .maxLength(1000)
                $0.retention["order.filled"] = .maxAge(.seconds(1))
            })
        for batch in 0..<30 { try await publisher.publish((0..<100).map { event(.marketTick, batch * 100 + $0) }) }
        #expect(try await bus.entries("market.tick").count == 1000)

        try await publisher.publish((0..<10).map { event(.orderFilled, $0) })
        try await Task.sleep(for: .milliseconds(1200))
        try await publisher.publish(event(.orderFilled, 10))
        let kept = try await bus.entries("order.filled").compactMap { fields in
            fields["envelope"].flatMap { try? EventEnvelope.decode(Array($0.utf8), maximumBytes: 1 << 20) }.map(sequence(of:))
        }
        #expect(kept == [10], "entries older than a second are trimmed")
    }

    @Test func retentionIsReadPerStream() throws {
        let yaml = """
            event_bus:
              retention:
                market.tick: { max_length: 5000 }
                order.filled: { max_age: 30d }
                order.canceled: { max_length: 2000, max_age: 1h }
            """
        do {
            _ = try ConfigurationLoader.parse(yaml: yaml, file: "test.yaml", environment: [:])
            Issue.record("expected an error for order.canceled")
        } catch {
            #expect(error.description == "test.yaml:event_bus.retention.order.canceled.max_age: give max_length or max_age, not both")
        }
        let settings = try ConfigurationLoader.parse(
            yaml: yaml.replacingOccurrences(of: "max_length: 2000, ", with: ""), file: "t", environment: [:]
        ).eventBus
        #expect(settings.retention(of: "market.tick") == .maxLength(5000))
        #expect(settings.retention(of: "order.filled") == .maxAge(.seconds(30 * 86400)))
        #expect(settings.retention(of: "signal.generated") == .maxLength(settings.retentionMaxLength))
    }
}
