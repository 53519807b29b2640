import Foundation
import Logging
import Metrics
import RedisClient
import Synchronization
import VaktConfig

/// Publishes events so that none is lost while Redis is away.
///
/// `publish` returns only once every event is durable: in Redis (`XADD`, and held by
/// `replica_acks` replicas when the settings ask for them), or, when Redis cannot be reached or
/// its replicas do not confirm, in the disk buffer. While anything is buffered, new events are
/// buffered behind it, and a flusher sends the buffer to Redis in the original order once Redis
/// answers again, so per-publisher order holds across an outage. A crash between sending and removing a flushed
/// batch can send it twice; consumers drop the repeat by event id.
public actor EventPublisher {
    public enum PublishError: Error, Sendable, Equatable, CustomStringConvertible {
        case envelopeTooLarge(bytes: Int, limit: Int)
        case bufferFull(events: Int, bytes: Int)
        case bufferWriteFailed(String)

        public var description: String {
            switch self {
            case .envelopeTooLarge(let bytes, let limit): "event of \(bytes) bytes exceeds the \(limit)-byte limit"
            case .bufferFull(let events, let bytes):
                "Redis is unreachable and the disk buffer is full (\(events) events, \(bytes) bytes); the event was not accepted"
            case .bufferWriteFailed(let reason): "Redis is unreachable and the disk buffer could not be written: \(reason)"
            }
        }
    }

    /// What `/health` and metrics show of the buffer, readable without awaiting the actor.
    public struct BufferState: Sendable, Equatable {
        public var events: Int
        public var bytes: Int
        public var maxEvents: Int
        public var maxBytes: Int
        public var isFull: Bool { events >= maxEvents || bytes >= maxBytes }
    }

    /// Whether new events go to Redis or behind the buffered ones, decided under one lock so
    /// that no event overtakes one buffered before it.
    private struct Route {
        var buffering = false
        /// Appends decided but not yet committed to the buffer, and how many were ever decided:
        /// the flusher may hand publishing back to Redis only when neither moved while it
        /// found the buffer empty.
        var appendsInFlight = 0
        var appendsDecided = 0

        /// Buffers this publish too when already buffering; says whether it does.
        mutating func joinBuffering() -> Bool {
            if buffering { decideToBuffer() }
            return buffering
        }

        mutating func decideToBuffer() {
            buffering = true
            appendsInFlight += 1
            appendsDecided += 1
        }
    }

    private enum Outcome: Sendable {
        case sent
        case buffer(reason: RedisError?)
    }

    private let redis: RedisConnection
    private let buffer: DiskBuffer
    private let settings: EventBusSettings
    private let logger: Logger
    private let metrics: EventBusMetrics
    private let encoder: XAddEncoder
    private let state: Mutex<BufferState>
    private let route: Mutex<Route>
    private var flusher: Task<Void, Never>?

    public init(redis: RedisConnection, settings: EventBusSettings, logger: Logger) async throws {
        self.redis = redis
        self.settings = settings
        self.logger = logger
        self.metrics = EventBusMetrics()
        self.encoder = XAddEncoder(settings: settings)
        let buffer = try await DurableDatabase.onOwnThread { [path = settings.bufferPath] in try DiskBuffer(path: path) }
        self.buffer = buffer
        let events = await buffer.count
        let bytes = await buffer.bytes
        state = Mutex(BufferState(events: events, bytes: bytes, maxEvents: settings.bufferMaxEvents, maxBytes: settings.bufferMaxBytes))
        route = Mutex(Route(buffering: events > 0))
        metrics.bufferDepth(events: events, bytes: bytes)
        if events > 0 {
            logger.warning("events left in the disk buffer by an earlier run; flushing them first", metadata: ["events": "\(events)"])
            startFlusher()
        }
    }

    public nonisolated var bufferState: BufferState { state.withLock { $0 } }

    /// The executor of the publisher's Redis connection: a task that prefers it publishes
    /// without a hand-over between threads (see ``RedisConnection/executor``).
    public nonisolated var executor: any TaskExecutor { redis.executor }

    public nonisolated func publish(_ envelope: EventEnvelope) async throws(PublishError) {
        try await publish([envelope])
    }

    /// Publishes a batch in one pipelined round trip (or one disk transaction), in order.
    ///
    /// The direct path does not enter the actor: the route is decided and the batch sent in one
    /// step on the connection's thread, so a single publish costs one round trip to Redis and
    /// two thread hand-overs.
    public nonisolated func publish(_ envelopes: [EventEnvelope]) async throws(PublishError) {
        guard !envelopes.isEmpty else { return }
        let started = ContinuousClock.now
        let entries = envelopes.map { (stream: $0.type.stream, envelope: $0.encodedBytes()) }
        if let large = entries.first(where: { $0.envelope.count > settings.maxEnvelopeBytes }) {
            metrics.rejected(reason: "too_large")
            throw .envelopeTooLarge(bytes: large.envelope.count, limit: settings.maxEnvelopeBytes)
        }
        let outcome: Outcome
        // While buffering, the decision needs no trip to the connection's thread.
        if route.withLock({ $0.joinBuffering() }) {
            outcome = .buffer(reason: nil)
        } else {
            let commands = encoder.commands(for: entries)
            outcome = await redis.withSession(spinning: commands.count == 1) { session -> Outcome in
                // Decided again here: a send that failed meanwhile may have started buffering.
                guard !self.route.withLock({ $0.joinBuffering() }) else { return .buffer(reason: nil) }
                do throws(RedisError) {
                    try self.requireSuccess(session.pipeline(commands))
                    return .sent
                } catch {
                    self.route.withLock { $0.decideToBuffer() }
                    return .buffer(reason: error)
                }
            }
        }
        switch outcome {
        case .sent:
            metrics.published(entries, duration: ContinuousClock.now - started)
        case .buffer(let reason):
            if let reason { logger.warning("events not confirmed by Redis; buffering them on disk", metadata: ["error": "\(reason)"]) }
            try await bufferDecided(entries.map { ($0.stream, Data($0.envelope)) })
            metrics.buffered(entries.count, duration: ContinuousClock.now - started)
        }
    }

    // MARK: - Buffer

    /// Appends entries the route sent to the buffer, and makes sure a flusher will send them.
    private func bufferDecided(_ entries: [(stream: String, envelope: Data)]) async throws(PublishError) {
        defer {
            route.withLock { $0.appendsInFlight -= 1 }
            startFlusher()
        }
        try await appendToBuffer(entries)
    }

    private func appendToBuffer(_ entries: [(stream: String, envelope: Data)]) async throws(PublishError) {
        let size = entries.reduce(0) { $0 + $1.envelope.count }
        let deadline = ContinuousClock.now + (settings.whenFull == .block ? settings.blockTimeout : .zero)
        while true {
            let current = state.withLock { $0 }
            if current.events + entries.count <= settings.bufferMaxEvents && current.bytes + size <= settings.bufferMaxBytes { break }
            if ContinuousClock.now >= deadline {
                metrics.rejected(reason: "buffer_full")
                logger.error(
                    "disk buffer full; event refused",
                    metadata: ["events": "\(current.events)", "bytes": "\(current.bytes)", "policy": "\(settings.whenFull.rawValue)"])
                throw .bufferFull(events: current.events, bytes: current.bytes)
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        do {
            try await buffer.append(entries)
        } catch {
            metrics.rejected(reason: "buffer_write")
            throw .bufferWriteFailed("\(error)")
        }
        await updateState()
    }

    private func updateState() async {
        let events = await buffer.count
        let bytes = await buffer.bytes
        state.withLock {
            $0.events = events
            $0.bytes = bytes
        }
        metrics.bufferDepth(events: events, bytes: bytes)
    }

    private func startFlusher() {
        guard flusher == nil else { return }
        flusher = Task { await self.flush() }
    }

    /// Sends the buffer to Redis, oldest first, until it is empty; then publishing goes direct.
    private func flush() async {
        var flushed = 0
        while !Task.isCancelled {
            let batch: [DiskBuffer.Entry]
            do {
                batch = try await buffer.oldest(500)
            } catch {
                logger.error("cannot read the disk buffer", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let last = batch.last else {
                // Appends still being committed must reach the disk, and be flushed, before
                // newer events may go to Redis directly.
                let (inFlight, decided) = route.withLock { ($0.appendsInFlight, $0.appendsDecided) }
                var drained = false
                if inFlight == 0 { drained = (try? await buffer.isDrained()) ?? false }
                await updateState()
                let handedBack =
                    drained
                    && route.withLock { route in
                        guard route.appendsDecided == decided else { return false }
                        route.buffering = false
                        return true
                    }
                if !handedBack {
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                flusher = nil
                if flushed > 0 { logger.notice("disk buffer flushed to Redis", metadata: ["events": "\(flushed)"]) }
                return
            }
            do {
                try await send(batch.map { ($0.stream, Array($0.envelope)) })
                try await buffer.remove(through: last.sequence, count: batch.count, bytes: batch.reduce(0) { $0 + $1.envelope.count })
                flushed += batch.count
                metrics.flushed(batch.count)
                await updateState()
            } catch {
                // Redis still away (the connection spaces its own reconnect attempts).
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private func send(_ entries: [(stream: String, envelope: [UInt8])]) async throws {
        try requireSuccess(await redis.pipeline(encoder.commands(for: entries)))
    }

    /// Every `XADD` answered with an id, and the `WAIT` (when asked for) with enough replicas:
    /// short of them, the events are on a primary a failover could lose.
    private nonisolated func requireSuccess(_ replies: [RedisReply]) throws(RedisError) {
        if let failure = replies.first(where: { if case .error = $0 { true } else { false } }) {
            throw RedisError.server("\(failure)")
        }
        guard settings.replicaAcks > 0 else { return }
        let acknowledged = replies.last?.integer ?? 0
        if acknowledged < settings.replicaAcks {
            metrics.unconfirmed()
            throw RedisError.unexpectedReply(
                "WAIT: \(acknowledged) of \(settings.replicaAcks) replicas acknowledged within \(settings.replicaAckTimeout.milliseconds) ms"
            )
        }
    }
}
