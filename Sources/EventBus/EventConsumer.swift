import Foundation
import Logging
import Metrics
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
/// - A handler that throws ``DependencyUnavailable`` (its database is down) gets the same event
///   again, in place, until it goes through: an outage is never taken for poison.
/// - Handled event ids are remembered per group in Redis (a sorted set, trimmed to
///   ``EventBusSettings/dedupWindow``), so a duplicate is acknowledged without running the
///   handler again.
public final class EventConsumer: Sendable {
    public typealias Handler = @Sendable (EventEnvelope) async throws -> Void

    public let group: String
    public let consumer: String
    public let types: [EventType]
    private let settings: EventBusSettings
    /// Scripts, acknowledgements, claims and pending reads.
    private let redis: RedisConnection
    /// Blocking reads of new entries only, so that the next batch is read while this one is
    /// handled and recorded (the work of Redis and of the handlers overlap).
    private let reader: RedisConnection
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
        redis = RedisConnection(endpoint: endpoint, label: "consumer.\(group).\(consumer)")
        reader = RedisConnection(endpoint: blockingEndpoint, label: "consumer.\(group).\(consumer).reader")
        self.group = group
        self.consumer = consumer
        self.types = types
        self.settings = settings
        self.handler = handler
        var logger = logger
        logger[metadataKey: "group"] = "\(group)"
        self.logger = logger
    }

    /// Names this consumer object in its leases: its own are taken back when it reads its
    /// pending entries again after a failure, another's (a second process of the same name
    /// included) are respected until they end.
    private let leaseOwner = EventID.make()

    var eventsKey: String { Self.eventsKey(group: group) }
    var handledKey: String { "vakt:handled:\(group)" }
    var attemptsKey: String { "vakt:attempts:\(group)" }

    /// The hash of a group's handled and leased event ids (see ``ConsumerScripts``).
    static func eventsKey(group: String) -> String { "vakt:events:\(group)" }

    /// Reads that failed since the consumer started (also `vakt_event_consumer_read_failures_total`).
    public var readFailures: Int { failedReads.load(ordering: .relaxed) }

    /// Consumes until the task is cancelled.
    public func run() async {
        var groupsReady = false
        var pendingDone = false
        // How far this pass over our pending entries got, per stream: each pass reads every
        // pending entry once, so one another member is handling now is not read again and again.
        var pendingPositions: [String: String] = [:]
        var lastClaim = ContinuousClock.now
        var outage = Outage()
        // The read of the next batch of new entries, started before the current one is handled.
        var nextRead: NextRead?
        defer { nextRead?.task.cancel() }
        // Handled events whose record waits to go with the next batch's lease script, in one
        // round trip: done only when that batch has already been read.
        var unrecorded = Completed(redelivered: false)
        while !Task.isCancelled {
            do {
                if !groupsReady {
                    try await createGroups()
                    groupsReady = true
                }
                if !pendingDone {
                    try await record(&unrecorded)
                    // Our own unacknowledged entries first, in order, as they were before a crash
                    // or a lost connection, so nothing newer overtakes them.
                    let entries = try await read(from: "0", after: pendingPositions, block: false)
                    if entries.isEmpty {
                        pendingDone = true
                        pendingPositions = [:]
                    }
                    for entry in entries { pendingPositions[entry.stream] = entry.id }
                    // Leases this consumer holds on its own pending entries are left over from a
                    // batch it dropped (Redis failed): nothing of ours is handling them.
                    var done = try await handle(try await prepare(entries, source: .ownPending))
                    try await record(&done)
                    continue
                }
                if ContinuousClock.now - lastClaim >= min(settings.claimIdle, .seconds(1)) {
                    lastClaim = .now
                    try await record(&unrecorded)
                    var done = try await handle(try await prepare(try await claimIdle(), source: .claimed))
                    try await record(&done)
                    try await sampleGroup()
                }
                let entries = try await (nextRead ?? readNew()).task.value
                nextRead = readNew()
                if let ended = outage.succeeded(at: .now) {
                    logger.notice(
                        "event consumer reading again",
                        metadata: ["failed_reads": "\(ended.failedAttempts)", "outage_ms": "\(ended.lasted.milliseconds)"])
                }
                unrecorded = try await handle(try await prepare(entries, source: .new, recording: &unrecorded))
                // Nothing read yet: record now rather than wait for what may not come soon.
                if nextRead?.finished.isSet != true { try await record(&unrecorded) }
            } catch {
                // Entries of a read in flight stay pending on this consumer: the pending pass reads them.
                nextRead?.task.cancel()
                nextRead = nil
                if Task.isCancelled { break }
                // A Redis that restarted without its data has lost the groups too: make them again.
                groupsReady = false
                pendingDone = false
                pendingPositions = [:]
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
        // Cancelled: what was handled is recorded, or its handlers would run again after a restart.
        try? await record(&unrecorded)
    }

    struct Entry: Sendable {
        var stream: String
        var id: String
        /// The `envelope` field; nil when the entry has none (or was deleted while pending).
        var envelope: [UInt8]?
        /// The envelope decoded as the entry is read (for new entries, by the read that runs
        /// while the previous batch is handled), or why it is no event.
        var event: Result<EventEnvelope, Undecodable>
    }

    struct Undecodable: Error {
        var reason: String
    }

    /// The read of the next batch of new entries, and whether it has finished.
    struct NextRead {
        var task: Task<[Entry], any Error>
        var finished: Flag
    }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    /// Starts the next batch of new entries: its blocking read (on the reader connection) and
    /// its decoding, while the previous batch is handled and recorded.
    private func readNew() -> NextRead {
        let finished = Flag()
        let task = Task {
            defer { finished.set() }
            return try await read(from: ">", block: true, on: reader)
        }
        return NextRead(task: task, finished: finished)
    }

    /// Where a batch's entries come from.
    enum Source {
        /// Never delivered to the group before (`>`).
        case new
        /// This consumer's own pending entries, read again after a start or a failure.
        case ownPending
        /// Claimed from idle pending entries (`XAUTOCLAIM`), of any member.
        case claimed

        var redelivered: Bool { self != .new }
    }

    /// A read batch's events with the dedup script's answers, ready for their handlers.
    struct Batch: Sendable {
        var source: Source
        var events: [(entry: Entry, envelope: EventEnvelope)] = []
        /// One per event: 0 handled already, 1 leased to this consumer, 2 leased to another.
        var verdicts: [UInt8] = []
        /// Per event (batches read again only): its attempt count when leased to this consumer.
        var attempts: [RedisReply] = []
        /// When the leases were taken (or last renewed).
        var leasedAt = ContinuousClock.now
    }

    private func createGroups() async throws {
        for type in types {
            let reply = try await redis.command(["XGROUP", "CREATE", type.stream, group, "$", "MKSTREAM"])
            if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") {
                throw RedisError.server(message)
            }
        }
    }

    /// `XREADGROUP` from `positions` (by stream; a stream not named reads from `id`).
    private func read(
        from id: String, after positions: [String: String] = [:], block: Bool, on connection: RedisConnection? = nil
    ) async throws -> [Entry] {
        var arguments = ["XREADGROUP", "GROUP", group, consumer, "COUNT", String(settings.batchSize)]
        if block { arguments += ["BLOCK", String(settings.blockFor.milliseconds)] }
        arguments += ["STREAMS"] + types.map(\.stream) + types.map { positions[$0.stream] ?? id }
        let reply = try await (connection ?? redis).command(arguments, blocking: block)
        if case .error(let message) = reply { throw RedisError.server(message) }
        guard case .array(let streams) = reply else { return [] }  // nil: nothing within the block time
        return streams.flatMap { stream -> [Entry] in
            guard case .array(let pair) = stream, pair.count == 2, let name = pair[0].string, case .array(let items) = pair[1] else {
                return []
            }
            return items.compactMap { Self.entry(stream: name, item: $0, maximumBytes: settings.maxEnvelopeBytes) }
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
            let entries = items.compactMap { Self.entry(stream: type.stream, item: $0, maximumBytes: settings.maxEnvelopeBytes) }
            if !entries.isEmpty { metrics.claimed(stream: type.stream, group: group, count: entries.count) }
            claimed += entries
        }
        return claimed
    }

    /// One `[id, [field, value, ...]]` item; an entry deleted while pending has a nil body and
    /// is kept without an envelope, so it is dead-lettered and acknowledged rather than stuck.
    static func entry(stream: String, item: RedisReply, maximumBytes: Int) -> Entry? {
        guard case .array(let parts) = item, parts.count == 2, let id = parts[0].string else { return nil }
        var envelope: [UInt8]?
        if case .array(let flat) = parts[1] {
            var index = 0
            while index + 1 < flat.count {
                if case .bulk(let key) = flat[index], key.elementsEqual("envelope".utf8), case .bulk(let value) = flat[index + 1] {
                    envelope = value
                }
                index += 2
            }
        }
        let event: Result<EventEnvelope, Undecodable>
        if let envelope {
            do {
                event = .success(try EventEnvelope.decode(envelope, maximumBytes: maximumBytes))
            } catch {
                event = .failure(Undecodable(reason: "undecodable envelope: \(error)"))
            }
        } else {
            event = .failure(Undecodable(reason: "entry has no envelope field"))
        }
        return Entry(stream: stream, id: id, envelope: envelope, event: event)
    }

    /// Readies one read batch: entries that cannot be events are dead-lettered one by one; for
    /// the rest, one script checks the dedup window and leases the new ids. Throws only when
    /// Redis failed, so the caller re-reads its pending entries in order once Redis is back.
    ///
    /// `recording`: handled events of the previous batch, recorded in the same round trip,
    /// before the lease script (which then finds them handled).
    private func prepare(_ entries: [Entry], source: Source, recording previous: inout Completed) async throws -> Batch {
        var batch = Batch(source: source)
        for entry in entries {
            guard let type = EventType(rawValue: entry.stream) else { continue }
            if source.redelivered { metrics.redelivered(stream: entry.stream, group: group) }
            switch entry.event {
            case .success(let envelope): batch.events.append((entry, envelope))
            case .failure(let problem): try await deadLetter(entry, type: type, reason: problem.reason)
            }
        }
        guard !batch.events.isEmpty else {
            try await record(&previous)
            return batch
        }

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        batch.leasedAt = .now
        var arguments = [
            "EVAL", ConsumerScripts.acquire, "2", eventsKey, attemptsKey, String(now), String(now + settings.lease.milliseconds),
            leaseOwner, source == .ownPending ? "1" : "0", String(batch.events.count),
        ]
        arguments += batch.events.map(\.envelope.id)
        if source.redelivered { arguments += batch.events.map { "\($0.entry.stream) \($0.entry.id)" } }
        guard let answers = try await record(&previous, then: arguments) else {
            throw RedisError.unexpectedReply("no answer from the dedup script")
        }
        if case .error(let message) = answers { throw RedisError.server(message) }
        guard case .array(let parts) = answers, case .bulk(let verdicts)? = parts.first, verdicts.count == batch.events.count,
            verdicts.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "2")).contains($0) })
        else {
            throw RedisError.unexpectedReply("the dedup script answered \(answers) for \(batch.events.count) events")
        }
        batch.verdicts = verdicts.map { $0 - UInt8(ascii: "0") }
        if source.redelivered {
            guard parts.count == 2, case .array(let counts) = parts[1], counts.count == batch.events.count else {
                throw RedisError.unexpectedReply("the dedup script answered \(answers) for \(batch.events.count) redelivered events")
            }
            batch.attempts = counts
        }
        return batch
    }

    private func prepare(_ entries: [Entry], source: Source) async throws -> Batch {
        var nothing = Completed(redelivered: source.redelivered)
        return try await prepare(entries, source: source, recording: &nothing)
    }

    /// Runs the handlers of a readied batch, in order, and returns what was handled, to be
    /// recorded and acknowledged with the duplicates in one pipeline (slow handlers are recorded
    /// as they finish). Throws only when Redis failed; an event whose handler already returned
    /// is then only recorded when it comes again.
    private func handle(_ batch: Batch) async throws -> Completed {
        guard !batch.events.isEmpty else { return Completed(redelivered: batch.source.redelivered) }
        let redelivered = batch.source.redelivered
        var done = Completed(redelivered: redelivered)
        // Redis failing mid-batch (a dead letter, a lease renewal) leaves handled events
        // unrecorded: they must not run again when they come back.
        var returned = false
        defer { if !returned { rememberUnrecorded(done.handled) } }
        var seen: Set<String> = []
        var lastRecord = ContinuousClock.now
        let unrecorded = handledUnacknowledged.withLock { $0 }
        var timers: [String: Timer] = [:]
        var leasedAt = batch.leasedAt
        // Leases that ran out under slow handlers and went to another consumer.
        var lost: Set<String> = []
        for (index, (entry, envelope)) in batch.events.enumerated() {
            let id = envelope.id
            let alreadyHandled = !unrecorded.isEmpty && unrecorded.contains(id)
            if batch.verdicts[index] == 1, ContinuousClock.now - leasedAt >= settings.lease / 2 {
                // Slow handlers: the rest of the batch keeps its leases for another full term.
                leasedAt = .now
                lost.formUnion(try await renewLeases(batch, from: index))
            }
            switch batch.verdicts[index] {
            case 1 where lost.contains(id):
                done.count(entry.stream, "in_flight_elsewhere")
            case 1 where seen.insert(id).inserted:
                // Poison: its handler was given it as often as allowed (its first delivery and
                // each lease since) and never returned, by throwing or by taking its process down.
                if !alreadyHandled, redelivered, let type = EventType(rawValue: entry.stream),
                    let attempts = batch.attempts[index].integer, attempts >= settings.maxDeliveries
                {
                    let last = lastErrors.take(entry.id) ?? "unknown (it failed on another consumer, or its process died)"
                    try await deadLetter(entry, type: type, reason: "delivered \(attempts + 1) times; last error: \(last)")
                    done.released.append(id)
                    continue
                }
                if !alreadyHandled {
                    let timer = timers[entry.stream] ?? metrics.handlerTimer(stream: entry.stream, group: group)
                    timers[entry.stream] = timer
                    var outcome = await run(envelope, entry: entry, timer: timer)
                    if case .unavailable(let why) = outcome {
                        // Not the event's fault: the same event again, in place, until it goes
                        // through; the rest of the batch keeps its leases meanwhile.
                        let waitStarted = ContinuousClock.now
                        logger.warning(
                            "event handler waits for \(why.dependency); retrying the event in place",
                            metadata: ["entry": "\(entry.id)", "event": "\(id)", "error": "\(why.reason)"])
                        // Never longer than half a lease, so that the lease is renewed in time.
                        let longest = min(.seconds(5), settings.lease / 2)
                        var pause = min(.milliseconds(100), longest)
                        while case .unavailable = outcome, !Task.isCancelled, !lost.contains(id) {
                            try? await Task.sleep(for: pause)
                            pause = min(pause * 2, longest)
                            if ContinuousClock.now - leasedAt >= settings.lease / 2 {
                                leasedAt = .now
                                lost.formUnion(try await renewLeases(batch, from: index))
                                if lost.contains(id) { break }
                            }
                            outcome = await run(envelope, entry: entry, timer: timer)
                        }
                        if case .handled = outcome {
                            logger.notice(
                                "event handler going again after \(why.dependency) returned",
                                metadata: ["event": "\(id)", "waited_ms": "\((ContinuousClock.now - waitStarted).milliseconds)"])
                        }
                    }
                    if lost.contains(id) {
                        done.count(entry.stream, "in_flight_elsewhere")
                        continue
                    }
                    guard case .handled = outcome else {
                        done.released.append(id)
                        done.count(entry.stream, "failed")
                        continue
                    }
                }
                done.handled(id, entry: entry, outcome: "handled")
                // Slow handlers are recorded as they finish, fast ones once per batch: a crash
                // repeats at most the handlers of the last few milliseconds.
                if ContinuousClock.now - lastRecord >= Self.recordEvery {
                    try await record(&done)
                    lastRecord = .now
                }
            case 2 where !alreadyHandled:
                // Another consumer is handling it now: it stays pending until that one records it.
                done.count(entry.stream, "in_flight_elsewhere")
            case 2:
                // Our own lease on an event we handled before an acknowledgement failed.
                done.handled(id, entry: entry, outcome: "handled")
            default:
                // Handled before (by anyone), or earlier in this very batch: only acknowledged.
                done.acknowledge(entry, outcome: "duplicate")
            }
        }
        returned = true
        return done
    }

    /// Extends the leases of the batch's events from `index` on; returns the ids whose lease is
    /// no longer this consumer's.
    private func renewLeases(_ batch: Batch, from index: Int) async throws -> Set<String> {
        let ids = batch.events[index...].indices.filter { batch.verdicts[$0] == 1 }.map { batch.events[$0].envelope.id }
        let end = Int64(Date().timeIntervalSince1970 * 1000) + settings.lease.milliseconds
        let reply = try await redis.command(["EVAL", ConsumerScripts.renew, "1", eventsKey, "\(end):\(leaseOwner)", leaseOwner] + ids)
        if case .error(let message) = reply { throw RedisError.server(message) }
        guard case .bulk(let answers) = reply, answers.count == ids.count else {
            throw RedisError.unexpectedReply("the lease renewal answered \(reply) for \(ids.count) events")
        }
        let lost = zip(ids, answers).filter { $0.1 != UInt8(ascii: "1") }.map(\.0)
        if !lost.isEmpty {
            logger.warning(
                "event leases ran out while earlier handlers of the batch ran; another consumer has them",
                metadata: ["events": "\(lost.count)", "lease_ms": "\(settings.lease.milliseconds)"])
        }
        return Set(lost)
    }

    /// How long handled events may wait to be recorded together.
    static let recordEvery: Duration = .milliseconds(5)

    /// What a batch has done and not yet recorded.
    struct Completed {
        /// The entries were read before (pending or claimed), not new.
        var redelivered: Bool
        var handled: [String] = []
        var released: [String] = []
        var acknowledged: [String: [String]] = [:]
        var outcomes: [String: [String: Int]] = [:]

        mutating func count(_ stream: String, _ outcome: String) {
            outcomes[stream, default: [:]][outcome, default: 0] += 1
        }

        mutating func acknowledge(_ entry: Entry, outcome: String) {
            acknowledged[entry.stream, default: []].append(entry.id)
            count(entry.stream, outcome)
        }

        mutating func handled(_ id: String, entry: Entry, outcome: String) {
            handled.append(id)
            acknowledge(entry, outcome: outcome)
        }

        var isEmpty: Bool { handled.isEmpty && released.isEmpty && acknowledged.isEmpty && outcomes.isEmpty }
    }

    /// One round trip: marks the handled ids in the dedup window (which ends their leases), ends
    /// the leases of failed handlers, and acknowledges the entries. Trims the window when due.
    private func record(_ done: inout Completed) async throws {
        _ = try await record(&done, then: nil)
    }

    /// The same, with `command` after it in the same pipeline; returns its reply.
    private func record(_ done: inout Completed, then command: [String]?) async throws -> RedisReply? {
        guard !done.isEmpty else {
            guard let command else { return nil }
            return try await redis.command(command)
        }
        var commands: [[String]] = []
        if !done.handled.isEmpty {
            commands.append(["HSET", eventsKey] + done.handled.flatMap { [$0, "h"] })
            commands.append(["RPUSH", handledKey] + done.handled)
        }
        if !done.released.isEmpty { commands.append(["EVAL", ConsumerScripts.release, "1", eventsKey] + done.released) }
        for (stream, ids) in done.acknowledged.sorted(by: { $0.key < $1.key }) {
            commands.append(["XACK", stream, group] + ids)
            // Attempts no longer matter (only an entry read again can have any).
            if done.redelivered { commands.append(["HDEL", attemptsKey] + ids.map { "\(stream) \($0)" }) }
        }
        let recordCount = commands.count
        if let command { commands.append(command) }
        let replies: [RedisReply]
        do {
            replies = try await redis.pipeline(commands)
            for reply in replies.prefix(recordCount) {
                if case .error(let message) = reply { throw RedisError.server(message) }
            }
            if !done.handled.isEmpty, let length = replies[1].integer,
                length > settings.dedupWindow + ConsumerScripts.trimSlack(window: settings.dedupWindow)
            {
                let reply = try await redis.command([
                    "EVAL", ConsumerScripts.trim, "2", eventsKey, handledKey, String(settings.dedupWindow),
                ])
                if case .error(let message) = reply { throw RedisError.server(message) }
            }
        } catch {
            rememberUnrecorded(done.handled)
            throw error
        }
        if !done.handled.isEmpty, !handledUnacknowledged.withLock({ $0.isEmpty }) {
            handledUnacknowledged.withLock { $0.subtract(done.handled) }
        }
        lastErrors.forget(done.acknowledged.values.joined())
        for (stream, counts) in done.outcomes {
            for (outcome, count) in counts { metrics.consumed(stream: stream, group: group, outcome: outcome, count: count) }
        }
        done = Completed(redelivered: done.redelivered)
        return command == nil ? nil : replies.last
    }

    /// Events handled but perhaps not recorded (Redis failed in between): on redelivery they
    /// are only recorded and acknowledged.
    private func rememberUnrecorded(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        handledUnacknowledged.withLock { handled in
            // Bounded: only the events caught by an outage between handler and record.
            if handled.count >= 100_000 { handled.removeAll() }
            handled.formUnion(ids)
        }
    }

    /// Runs the handler; false when it threw (the entry stays pending and is retried).
    /// How one call of the handler ended.
    enum HandlerOutcome {
        case handled
        /// It threw: the delivery failed, and counts towards dead-lettering.
        case failed
        /// It threw ``DependencyUnavailable``: retried in place, never dead-lettered for it.
        case unavailable(DependencyUnavailable)
    }

    private func run(_ envelope: EventEnvelope, entry: Entry, timer: Timer) async -> HandlerOutcome {
        let started = ContinuousClock.now
        do {
            try await handler(envelope)
        } catch let error as DependencyUnavailable {
            return .unavailable(error)
        } catch {
            lastErrors.record(entry.id, "\(error)")
            logger.warning(
                "event handler failed; the entry stays pending and is retried",
                metadata: ["entry": "\(entry.id)", "event": "\(envelope.id)", "error": "\(error)"])
            return .failed
        }
        timer.record(duration: ContinuousClock.now - started)
        return .handled
    }

    private func deadLetter(_ entry: Entry, type: EventType, reason: String) async throws {
        var arguments = ["XADD", type.deadLetterStream, "MAXLEN", "~", String(settings.retentionMaxLength), "*"]
        arguments += ["reason", reason, "stream", entry.stream, "entry", entry.id, "group", group]
        if let raw = entry.envelope {
            arguments += ["envelope", String(decoding: raw.prefix(settings.maxEnvelopeBytes), as: UTF8.self)]
        }
        _ = try await redis.pipeline([
            arguments, ["XACK", entry.stream, group, entry.id], ["HDEL", attemptsKey, "\(entry.stream) \(entry.id)"],
        ])
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

    /// Drops the errors of entries that are done with (one lock for a batch).
    func forget(_ ids: some Sequence<String>) {
        errors.withLock { errors in
            guard !errors.isEmpty else { return }
            for id in ids { errors.removeValue(forKey: id) }
        }
    }
}
