import Foundation
import Logging
import RedisClient
import Synchronization
import VaktConfig

/// Reads streams as one member of a consumer group and hands each event to a handler, at least
/// once, with its effect exactly once as far as duplicates go.
///
/// - On start, the consumer's own pending entries (read before a crash, never acknowledged)
///   are handled first, then new entries (`XREADGROUP ... BLOCK` on a connection of its own).
/// - An entry is acknowledged (`XACK`) only after its handler returned.
/// - Entries pending longer than ``EventBusSettings/claimIdle`` (on a dead consumer, or whose
///   handler threw) are claimed with `XAUTOCLAIM` and handled again.
/// - An entry that does not decode, or that was delivered more than
///   ``EventBusSettings/maxDeliveries`` times, goes to the type's dead-letter stream with the
///   reason and is acknowledged: poison never blocks a stream.
/// - Handled event ids are remembered per group in Redis (a sorted set, trimmed to
///   ``EventBusSettings/dedupWindow``), so a duplicate is acknowledged without running the
///   handler again.
public final class EventConsumer: Sendable {
    public typealias Handler = @Sendable (EventEnvelope) async throws -> Void

    public let group: String
    public let consumer: String
    public let types: [EventType]
    private let settings: EventBusSettings
    private let redis: RedisConnection
    private let handler: Handler
    private let logger: Logger
    private let metrics = EventBusMetrics()
    private let lastErrors = LastErrors()
    private let failedReads = Atomic<Int>(0)
    /// Events whose handler returned but whose acknowledgement did not reach Redis (it went
    /// away in between): on redelivery they are acknowledged without running the handler again.
    private let handledUnacknowledged = Mutex<Set<String>>([])

    /// - Parameters:
    ///   - endpoint: Redis; the consumer opens a connection of its own for blocking reads.
    ///   - group: the consumer group, one per subscribing service.
    ///   - consumer: this member's name, stable across restarts of the same instance so that it
    ///     finds its own pending entries again.
    public init(
        endpoint: RedisEndpoint, group: String, consumer: String, types: [EventType], settings: EventBusSettings, logger: Logger,
        handler: @escaping Handler
    ) {
        var blockingEndpoint = endpoint
        // A blocking read must not hit the command timeout.
        blockingEndpoint.commandTimeout = endpoint.commandTimeout + settings.blockFor
        redis = RedisConnection(endpoint: blockingEndpoint, label: "consumer.\(group).\(consumer)")
        self.group = group
        self.consumer = consumer
        self.types = types
        self.settings = settings
        self.handler = handler
        var logger = logger
        logger[metadataKey: "group"] = "\(group)"
        self.logger = logger
    }

    var dedupKey: String { "vakt:dedup:\(group)" }

    /// Reads that failed since the consumer started (also `vakt_event_consumer_read_failures_total`).
    public var readFailures: Int { failedReads.load(ordering: .relaxed) }

    /// Consumes until the task is cancelled.
    public func run() async {
        var groupsReady = false
        var pendingDone = false
        var lastClaim = ContinuousClock.now
        var outage = Outage()
        while !Task.isCancelled {
            do {
                if !groupsReady {
                    try await createGroups()
                    groupsReady = true
                }
                if !pendingDone {
                    // Our own unacknowledged entries first, in order, as they were before a crash
                    // or a lost connection, so nothing newer overtakes them.
                    let entries = try await read(from: "0", block: false)
                    if entries.isEmpty { pendingDone = true }
                    for entry in entries { try await process(entry, redelivered: true) }
                    continue
                }
                if ContinuousClock.now - lastClaim >= min(settings.claimIdle, .seconds(1)) {
                    lastClaim = .now
                    for entry in try await claimIdle() { try await process(entry, redelivered: true) }
                    try await sampleGroup()
                }
                let entries = try await read(from: ">", block: true)
                if let ended = outage.succeeded(at: .now) {
                    logger.notice(
                        "event consumer reading again",
                        metadata: ["failed_reads": "\(ended.failedAttempts)", "outage_ms": "\(ended.lasted.milliseconds)"])
                }
                for entry in entries { try await process(entry, redelivered: false) }
            } catch {
                if Task.isCancelled { break }
                // A Redis that restarted without its data has lost the groups too: make them again.
                groupsReady = false
                pendingDone = false
                failedReads.add(1, ordering: .relaxed)
                metrics.readFailed(group: group)
                if outage.failed(at: .now) {
                    logger.warning(
                        "event consumer cannot read; retrying until Redis answers (failed reads are counted in vakt_event_consumer_read_failures_total)",
                        metadata: ["error": "\(error)"])
                }
                // Not sooner than the connection's own next attempt: an earlier read fails at once.
                var pause = Duration.milliseconds(200)
                if case RedisError.unavailable(_, let retryIn) = error { pause = max(pause, retryIn) }
                try? await Task.sleep(for: pause)
            }
        }
    }

    struct Entry {
        var stream: String
        var id: String
        var fields: [String: [UInt8]]
    }

    private func createGroups() async throws {
        for type in types {
            let reply = try await redis.command(["XGROUP", "CREATE", type.stream, group, "$", "MKSTREAM"])
            if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") {
                throw RedisError.server(message)
            }
        }
    }

    private func read(from id: String, block: Bool) async throws -> [Entry] {
        var arguments = ["XREADGROUP", "GROUP", group, consumer, "COUNT", String(settings.batchSize)]
        if block { arguments += ["BLOCK", String(settings.blockFor.milliseconds)] }
        arguments += ["STREAMS"] + types.map(\.stream) + Array(repeating: id, count: types.count)
        let reply = try await redis.command(arguments, blocking: block)
        if case .error(let message) = reply { throw RedisError.server(message) }
        guard case .array(let streams) = reply else { return [] }  // nil: nothing within the block time
        return streams.flatMap { stream -> [Entry] in
            guard case .array(let pair) = stream, pair.count == 2, let name = pair[0].string, case .array(let items) = pair[1] else {
                return []
            }
            return items.compactMap { Self.entry(stream: name, item: $0) }
        }
    }

    /// Exports this group's pending count and lag per stream (`XINFO GROUPS`).
    private func sampleGroup() async throws {
        let inspector = EventStreamInspector(redis: redis)
        for stream in try await inspector.stats(types) {
            guard let own = stream.groups.first(where: { $0.name == group }) else { continue }
            metrics.group(stream: stream.stream, group: group, pending: own.pending, lag: own.lag)
        }
    }

    private func claimIdle() async throws -> [Entry] {
        var claimed: [Entry] = []
        for type in types {
            let reply = try await redis.command([
                "XAUTOCLAIM", type.stream, group, consumer, String(settings.claimIdle.milliseconds), "0-0", "COUNT",
                String(settings.batchSize),
            ])
            if case .error(let message) = reply { throw RedisError.server(message) }
            guard case .array(let parts) = reply, parts.count >= 2, case .array(let items) = parts[1] else { continue }
            let entries = items.compactMap { Self.entry(stream: type.stream, item: $0) }
            if !entries.isEmpty { metrics.claimed(stream: type.stream, group: group, count: entries.count) }
            claimed += entries
        }
        return claimed
    }

    /// One `[id, [field, value, ...]]` item; an entry deleted while pending has a nil body and
    /// is kept with no fields, so it is dead-lettered and acknowledged rather than stuck.
    static func entry(stream: String, item: RedisReply) -> Entry? {
        guard case .array(let parts) = item, parts.count == 2, let id = parts[0].string else { return nil }
        var fields: [String: [UInt8]] = [:]
        if case .array(let flat) = parts[1] {
            var index = 0
            while index + 1 < flat.count {
                if let key = flat[index].string, case .bulk(let value) = flat[index + 1] { fields[key] = value }
                index += 2
            }
        }
        return Entry(stream: stream, id: id, fields: fields)
    }

    /// Handles one entry. Throws only when Redis failed, so the caller stops the batch and
    /// re-reads its pending entries in order once Redis is back.
    private func process(_ entry: Entry, redelivered: Bool) async throws {
        guard let type = EventType(rawValue: entry.stream) else { return }
        if redelivered { metrics.redelivered(stream: entry.stream, group: group) }
        guard let raw = entry.fields["envelope"] else {
            try await deadLetter(entry, type: type, reason: "entry has no envelope field")
            return
        }
        let envelope: EventEnvelope
        do {
            envelope = try EventEnvelope.decode(raw, maximumBytes: settings.maxEnvelopeBytes)
        } catch {
            try await deadLetter(entry, type: type, reason: "undecodable envelope: \(error)")
            return
        }
        if redelivered, let deliveries = try await deliveryCount(entry), deliveries > settings.maxDeliveries {
            let last = lastErrors.take(entry.id) ?? "unknown (handled on another consumer)"
            try await deadLetter(entry, type: type, reason: "delivered \(deliveries) times; last error: \(last)")
            return
        }
        if try await redis.command(["ZSCORE", dedupKey, envelope.id]) != .null {
            _ = try await redis.command(["XACK", entry.stream, group, entry.id])
            handledUnacknowledged.withLock { _ = $0.remove(envelope.id) }
            metrics.consumed(stream: entry.stream, group: group, outcome: "duplicate")
            return
        }
        if handledUnacknowledged.withLock({ $0.contains(envelope.id) }) {
            try await acknowledge(entry, envelope: envelope)
            return
        }
        let started = ContinuousClock.now
        do {
            try await handler(envelope)
        } catch {
            lastErrors.record(entry.id, "\(error)")
            metrics.consumed(stream: entry.stream, group: group, outcome: "failed")
            logger.warning(
                "event handler failed; the entry stays pending and is retried",
                metadata: ["entry": "\(entry.id)", "event": "\(envelope.id)", "error": "\(error)"])
            return
        }
        metrics.handled(stream: entry.stream, group: group, duration: ContinuousClock.now - started)
        handledUnacknowledged.withLock { handled in
            // Bounded: these are only the few entries caught by an outage between handler and ack.
            if handled.count >= 100_000 { handled.removeAll() }
            handled.insert(envelope.id)
        }
        try await acknowledge(entry, envelope: envelope)
    }

    /// Records the event as handled in the group's window and acknowledges the entry. If Redis
    /// fails here, the entry stays pending and is delivered again; this process then only
    /// acknowledges it. (A crash of this process in between does run the handler twice.)
    private func acknowledge(_ entry: Entry, envelope: EventEnvelope) async throws {
        let now = String(Int64(Date().timeIntervalSince1970 * 1000))
        _ = try await redis.pipeline([
            ["ZADD", dedupKey, now, envelope.id],
            ["ZREMRANGEBYRANK", dedupKey, "0", String(-(settings.dedupWindow + 1))],
            ["XACK", entry.stream, group, entry.id],
        ])
        handledUnacknowledged.withLock { _ = $0.remove(envelope.id) }
        lastErrors.take(entry.id)
        metrics.consumed(stream: entry.stream, group: group, outcome: "handled")
    }

    private func deliveryCount(_ entry: Entry) async throws -> Int? {
        let reply = try await redis.command(["XPENDING", entry.stream, group, entry.id, entry.id, "1"])
        guard case .array(let rows) = reply, case .array(let row)? = rows.first, row.count >= 4 else { return nil }
        return row[3].integer.map(Int.init)
    }

    private func deadLetter(_ entry: Entry, type: EventType, reason: String) async throws {
        var arguments = ["XADD", type.deadLetterStream, "MAXLEN", "~", String(settings.retentionMaxLength), "*"]
        arguments += ["reason", reason, "stream", entry.stream, "entry", entry.id, "group", group]
        if let raw = entry.fields["envelope"] {
            arguments += ["envelope", String(decoding: raw.prefix(settings.maxEnvelopeBytes), as: UTF8.self)]
        }
        _ = try await redis.pipeline([arguments, ["XACK", entry.stream, group, entry.id]])
        metrics.consumed(stream: entry.stream, group: group, outcome: "dead_lettered")
        logger.error(
            "event dead-lettered", metadata: ["entry": "\(entry.id)", "stream": "\(type.deadLetterStream)", "reason": "\(reason)"])
    }
}

/// The last handler error per entry, for the dead-letter reason; bounded.
final class LastErrors: Sendable {
    private let errors = Mutex<[String: String]>([:])

    func record(_ id: String, _ error: String) {
        errors.withLock { errors in
            if errors.count >= 10_000 { errors.removeAll() }
            errors[id] = error
        }
    }

    @discardableResult
    func take(_ id: String) -> String? {
        errors.withLock { $0.removeValue(forKey: id) }
    }
}
