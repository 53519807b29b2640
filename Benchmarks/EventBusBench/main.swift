// The event bus measured against redis-benchmark on the same Redis (scripts/bench-events runs
// both): batched publish throughput, single-publish latency, publish-to-handler latency, and
// the disk buffer's durable write rate with Redis down. Prints one `name value` line per figure.

import EventBus
import Foundation
import Logging
import RedisClient
import Synchronization
import VaktConfig

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(
        Data(
            """
            usage: EventBusBench REDIS_PORT WORK_DIRECTORY [SECTIONS]
              SECTIONS: comma-separated, to run (and profile) only these: publish, single, end-to-end,
              consumer, end-to-end-10k, disk-buffer (default: all)

            """.utf8))
    exit(64)
}
let work = arguments[2]
let sections = arguments.count == 4 ? Set(arguments[3].split(separator: ",").map(String.init)) : nil
func runs(_ section: String) -> Bool { sections?.contains(section) ?? true }
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .error
    return handler
}
let logger = Logger(label: "bench")
let endpoint = RedisEndpoint(host: "127.0.0.1", port: port, commandTimeout: .seconds(10))

/// A 300-byte envelope, as the issue specifies.
@Sendable func envelope(_ sequence: Int, sentAt: UInt64 = 0) -> EventEnvelope {
    var event = EventEnvelope(
        type: .marketTick, source: "bench",
        payload: .object(["s": .number(Double(sequence)), "t": .number(Double(sentAt)), "pad": .string("")]))
    let padding = max(0, 300 - event.encoded().count)
    event.payload = .object([
        "s": .number(Double(sequence)), "t": .number(Double(sentAt)), "pad": .string(String(repeating: "x", count: padding)),
    ])
    return event
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))]
}

@Sendable func nanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func settings(_ name: String) -> EventBusSettings {
    EventBusSettings(bufferPath: "\(work)/\(name).sqlite", bufferMaxEvents: 10_000_000, bufferMaxBytes: 1 << 34)
}

/// Publish-to-handler latencies (ms) that a consumer records from each event's `t` field.
final class Latencies: Sendable {
    private let values = Mutex<[Double]>([])
    var all: [Double] { values.withLock { $0 } }
    var count: Int { values.withLock { $0.count } }

    /// A consumer of `type` in `group` that records here; run it in a task.
    func consumer(group: String, type: EventType, settingsName: String) -> EventConsumer {
        var consumerSettings = settings(settingsName)
        consumerSettings.blockFor = .milliseconds(100)
        return EventConsumer(
            endpoint: endpoint, group: group, consumer: "bench-1", types: [type], settings: consumerSettings, logger: logger
        ) { event in
            let now = nanoseconds()
            if case .object(let fields) = event.payload, case .number(let sent)? = fields["t"], sent > 0 {
                self.values.withLock { $0.append(Double(now - UInt64(sent)) / 1e6) }
            }
        }
    }

    /// Waits up to 30 s for `expected` events, then prints `PREFIX_received`, `_p50_ms`, `_p99_ms`.
    func report(_ prefix: String, expected: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while count < expected && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let latencies = all
        print("\(prefix)_received \(latencies.count)")
        print("\(prefix)_p50_ms \(percentile(latencies, 50))")
        print("\(prefix)_p99_ms \(percentile(latencies, 99))")
    }
}

print("envelope_bytes \(envelope(0).encoded().count)")

// Batched publish: 200,000 events in batches of 100, one pipelined round trip each, from a task
// on the concurrency pool as a service publishes (as for single publishes below).
nonisolated func publishAll(_ batches: [[EventEnvelope]], with publisher: EventPublisher) async throws -> Double {
    let start = nanoseconds()
    for batch in batches { try await publisher.publish(batch) }
    return Double(nanoseconds() - start) / 1e9
}
if runs("publish") {
    let publisher = try await EventPublisher(redis: RedisConnection(endpoint: endpoint), settings: settings("batched"), logger: logger)
    let batches = (0..<2000).map { batch in (0..<100).map { envelope(batch * 100 + $0) } }
    let seconds = try await publishAll(batches, with: publisher)
    print("batched_publish_events_per_second \(Int(200_000 / seconds))")
}

// Single publish: one event at a time, each awaited, from a task on the concurrency pool as a
// service publishes (top-level code would run on the main actor and add a hop per call).
// The bare connection's round trip is printed alongside to show the bus's own share.
nonisolated func singleLatencies(_ operation: @Sendable (Int) async throws -> Void) async throws -> [Double] {
    var latencies: [Double] = []
    latencies.reserveCapacity(20_000)
    for index in 0..<20_000 {
        let start = nanoseconds()
        try await operation(index)
        latencies.append(Double(nanoseconds() - start) / 1e6)
    }
    return latencies
}
if runs("single") {
    let connection = RedisConnection(endpoint: endpoint)
    let command = [
        ["XADD", "bench.bare", "MAXLEN", "~", "1000000", "*", "envelope"].map { Array($0.utf8) } + [Array(envelope(0).encoded())]
    ]
    let bare = try await withTaskExecutorPreference(connection.executor) {
        try await singleLatencies { _ in _ = try await connection.pipeline(bytes: command) }
    }
    let hop = try await singleLatencies { _ in _ = try await connection.pipeline(bytes: command) }
    print("hop_roundtrip_p50_ms \(percentile(hop, 50))")
    print("connection_roundtrip_p50_ms \(percentile(bare, 50))")
    let publisher = try await EventPublisher(redis: RedisConnection(endpoint: endpoint), settings: settings("single"), logger: logger)
    let events = (0..<20_000).map { envelope($0) }
    let latencies = try await singleLatencies { try await publisher.publish(events[$0]) }
    print("single_publish_p50_ms \(percentile(latencies, 50))")
    print("single_publish_p99_ms \(percentile(latencies, 99))")
    // The same from a task that prefers the publisher's connection thread, as a latency-critical
    // service runs its publishing loop.
    let pinned = try await withTaskExecutorPreference(publisher.executor) {
        try await singleLatencies { try await publisher.publish(events[$0]) }
    }
    print("pinned_publish_p50_ms \(percentile(pinned, 50))")
    print("pinned_publish_p99_ms \(percentile(pinned, 99))")
}

// Publish to handler: a consumer group member receives each event; 5,000 events at 1,000/s.
if runs("end-to-end") {
    let latencies = Latencies()
    let task = Task { await latencies.consumer(group: "bench", type: .marketTick, settingsName: "e2e").run() }
    try await Task.sleep(for: .milliseconds(500))
    let publisher = try await EventPublisher(redis: RedisConnection(endpoint: endpoint), settings: settings("e2e-pub"), logger: logger)
    for index in 0..<5000 {
        try await publisher.publish(envelope(index, sentAt: nanoseconds()))
        try await Task.sleep(for: .milliseconds(1))
    }
    try await latencies.report("end_to_end", expected: 5000)
    task.cancel()
}

// Consumer throughput: 200,000 events already on a stream, one consumer with a trivial handler,
// at the default batch_size (100) and at 500 (scripts/bench-events runs xreadgroup-floor.c on
// the same Redis as the anchor).
if runs("consumer") {
    let count = 200_000
    let publisher = try await EventPublisher(redis: RedisConnection(endpoint: endpoint), settings: settings("consume-pub"), logger: logger)
    for batch in 0..<(count / 100) {
        try await publisher.publish(
            (0..<100).map { index in
                var event = envelope(batch * 100 + index)
                event.type = .orderFilled
                return event
            })
    }
    let raw = RedisConnection(endpoint: endpoint)
    for (name, batchSize) in [("consumer_events_per_second", 100), ("consumer_batch_500_events_per_second", 500)] {
        let group = "bench-throughput-\(batchSize)"
        _ = try await raw.command(["XGROUP", "CREATE", EventType.orderFilled.stream, group, "0"])
        var consumerSettings = settings("consume-\(batchSize)")
        consumerSettings.batchSize = batchSize
        let handled = Atomic<Int>(0)
        let consumer = EventConsumer(
            endpoint: endpoint, group: group, consumer: "bench-1", types: [.orderFilled], settings: consumerSettings, logger: logger
        ) { _ in handled.add(1, ordering: .relaxed) }
        let start = nanoseconds()
        let task = Task { await consumer.run() }
        while handled.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(1)) }
        let seconds = Double(nanoseconds() - start) / 1e9
        task.cancel()
        print("\(name) \(Int(Double(count) / seconds))")
    }
}

// Publish to handler at 10,000 events/s: batches of 10 every millisecond for 5 s.
if runs("end-to-end-10k") {
    let latencies = Latencies()
    let task = Task { await latencies.consumer(group: "bench-10k", type: .signalGenerated, settingsName: "e2e-10k").run() }
    try await Task.sleep(for: .milliseconds(500))
    let publisher = try await EventPublisher(redis: RedisConnection(endpoint: endpoint), settings: settings("e2e-10k-pub"), logger: logger)
    let total = 50_000
    let start = ContinuousClock.now
    for tick in 0..<(total / 10) {
        let sentAt = nanoseconds()
        try await publisher.publish(
            (0..<10).map { index in
                var event = envelope(tick * 10 + index, sentAt: sentAt)
                event.type = .signalGenerated
                return event
            })
        let next = start + .milliseconds(tick + 1)
        if next > .now { try await Task.sleep(until: next, clock: .continuous) }
    }
    print("end_to_end_10k_rate \(Int(Double(total) / (ContinuousClock.now - start).seconds))")
    try await latencies.report("end_to_end_10k", expected: total)
    task.cancel()
}

// Disk buffer with Redis unreachable: nothing listens on the port, so every publish is durable
// only once it is in SQLite (WAL, synchronous=FULL). Batches of 100, and 16 concurrent
// single-event publishers sharing group commits.
if runs("disk-buffer") {
    let deadEndpoint = RedisEndpoint(host: "127.0.0.1", port: 1, reconnectInitialDelay: .seconds(60), reconnectMaxDelay: .seconds(60))
    let batched = try await EventPublisher(
        redis: RedisConnection(endpoint: deadEndpoint), settings: settings("disk-batched"), logger: logger)
    let batches = (0..<500).map { batch in (0..<100).map { envelope(batch * 100 + $0) } }
    var start = nanoseconds()
    for batch in batches { try await batched.publish(batch) }
    print("disk_buffer_batched_events_per_second \(Int(50_000 / (Double(nanoseconds() - start) / 1e9)))")

    let concurrent = try await EventPublisher(
        redis: RedisConnection(endpoint: deadEndpoint), settings: settings("disk-concurrent"), logger: logger)
    start = nanoseconds()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<16 {
            group.addTask {
                for index in 0..<1000 { try await concurrent.publish(envelope(worker * 1000 + index)) }
            }
        }
        try await group.waitForAll()
    }
    print("disk_buffer_concurrent_events_per_second \(Int(16_000 / (Double(nanoseconds() - start) / 1e9)))")
}
