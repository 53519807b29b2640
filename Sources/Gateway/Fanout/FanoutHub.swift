import EventBus
import Foundation
import Metrics
import Synchronization

/// The gateway's WebSocket clients and what each is owed: every event from the bus becomes a
/// numbered message, is kept as its key's latest value (for resumes), and, a few milliseconds
/// later and coalesced with what came meanwhile, is offered to every subscribed client's
/// ``ClientOutbox``; each client's writer takes its batches from here, in its slot of the
/// gateway's ``FrameBudget``.
///
/// The decisions are the outboxes' and ``LatestValues``'; this is the lock around them, the
/// clock, and the wake-ups.
final class FanoutHub: Sendable {
    /// What a client's writer does next.
    enum Next: Equatable {
        /// These messages, taken at `at` (the time the batch carries).
        case send([FanoutMessage], at: ContinuousClock.Instant)
        case wait(until: ContinuousClock.Instant)
        /// Nothing waits: sleep until woken.
        case idle
        /// Cut off, for this reason.
        case cut(String)
    }

    /// How a resume went.
    enum Resume: Equatable {
        /// The changes since the client's sequence are queued for it.
        case resumed(count: Int)
        /// The sequence is of another run of the gateway, or older than what it still holds:
        /// the client must start from a snapshot.
        case snapshotNeeded(String)
    }

    private struct Client {
        var outbox: ClientOutbox
        let wake: AsyncStream<Void>.Continuation
        var cutReason: String?
        /// The slot of the global frame budget this client's next frame goes in, once reserved.
        var slot: ContinuousClock.Instant?
    }

    private struct State {
        var sequence: UInt64 = 0
        var latest: LatestValues
        var budget: FrameBudget
        var clients: [Int: Client] = [:]
        /// Updates not yet offered to the clients, the latest of each key.
        var incoming: [FanoutMessage.Slot: FanoutMessage] = [:]
        /// The clients of each topic, so an event costs nothing for the others.
        var subscribers: [String: Set<Int>] = [:]
        var nextClient = 0

        mutating func subscribe(_ id: Int, to topics: Set<String>) {
            for topic in topics { subscribers[topic, default: []].insert(id) }
        }

        mutating func unsubscribe(_ id: Int, from topics: Set<String>) {
            for topic in topics { subscribers[topic]?.remove(id) }
        }
    }

    /// Names this run of the gateway: sequences from another run cannot be resumed.
    let epoch: String
    let limits: ClientOutbox.Limits
    let maxClients: Int
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let state: Mutex<State>
    private let incomingWakes: AsyncStream<Void>
    private let incomingWake: AsyncStream<Void>.Continuation
    private let connected = Gauge(label: "vakt_gateway_ws_clients")
    private let events = Counter(label: "vakt_gateway_events_total")
    private let batches = Counter(label: "vakt_gateway_ws_batches_total")
    private let coalescedUpdates = Counter(label: "vakt_gateway_ws_updates_coalesced_total")

    /// - Parameter framesPerSecond: the frames the gateway sends per second across all clients.
    init(
        limits: ClientOutbox.Limits, resumeKeys: Int, maxClients: Int, framesPerSecond: Int, epoch: String = UUID().uuidString.lowercased(),
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.limits = limits
        self.maxClients = maxClients
        self.epoch = epoch
        self.clock = clock
        state = Mutex(State(latest: LatestValues(capacity: resumeKeys), budget: FrameBudget(framesPerSecond: framesPerSecond)))
        (incomingWakes, incomingWake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        connected.record(0)
        events.increment(by: 0)
        batches.increment(by: 0)
        coalescedUpdates.increment(by: 0)
        for reason in CutReason.allCases {
            Counter(label: "vakt_gateway_ws_clients_cut_total", dimensions: [("reason", reason.rawValue)]).increment(by: 0)
        }
    }

    enum CutReason: String, CaseIterable {
        /// More keys waited than the outbox holds.
        case overflow
        /// A write did not finish in time.
        case stalled
    }

    var sequence: UInt64 { state.withLock { $0.sequence } }
    var clientCount: Int { state.withLock { $0.clients.count } }

    /// Numbers `envelope` and keeps it as its key's latest value, and as the key's next update
    /// for the clients: ``distribute()`` hands them out. Between two distributions a newer update
    /// of a key replaces the older, so a burst costs the clients what its last values cost.
    func publish(_ envelope: EventEnvelope) {
        let key = FanoutTopics.key(of: envelope)
        let tail = FanoutTopics.frameTail(of: envelope, key: key)
        let first: Bool = state.withLock { state in
            state.sequence += 1
            let message = FanoutMessage(
                sequence: state.sequence, topic: envelope.type.rawValue, key: key, frame: "{\"seq\":\(state.sequence)" + tail)
            state.latest.record(message)
            let first = state.incoming.isEmpty
            state.incoming[message.slot] = message
            return first
        }
        events.increment()
        if first { incomingWake.yield() }
    }

    /// Offers what arrived since the last distribution to every client subscribed to it.
    func distribute() {
        let now = clock()
        var coalesced = 0
        let toWake: [AsyncStream<Void>.Continuation] = state.withLock { state in
            let arrived = state.incoming.values.sorted { $0.sequence < $1.sequence }
            state.incoming = [:]
            var wake: [AsyncStream<Void>.Continuation] = []
            for message in arrived {
                for id in state.subscribers[message.topic] ?? [] {
                    // In place, by index: no copy of the client.
                    guard let index = state.clients.index(forKey: id) else { continue }
                    switch state.clients.values[index].outbox.offer(message, at: now) {
                    case .queued: wake.append(state.clients.values[index].wake)
                    case .coalesced: coalesced += 1
                    case .ignored: break
                    case .overflow:
                        Self.cut(&state.clients.values[index], .overflow, "more than \(limits.capacity) updates waiting")
                        wake.append(state.clients.values[index].wake)
                    }
                }
            }
            return wake
        }
        if coalesced > 0 { coalescedUpdates.increment(by: coalesced) }
        for continuation in toWake { continuation.yield() }
    }

    /// Distributes what arrives, `interval` after the first of it (so what comes meanwhile
    /// coalesces), until cancelled.
    func runDistribution(every interval: Duration) async {
        for await _ in incomingWakes {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            distribute()
        }
    }

    /// A client resuming from where an earlier connection left off.
    struct ResumePoint: Sendable, Equatable {
        var epoch: String
        var sequence: UInt64
    }

    /// A new client subscribed to `topics`, given what changed since `resumePoint` first (in the
    /// same step, so no live update can overtake it); nil when the gateway has `maxClients`.
    func connect(topics: Set<String>, resumingFrom resumePoint: ResumePoint? = nil)
        -> (id: Int, wakes: AsyncStream<Void>, resume: Resume?)?
    {
        let (wakes, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let now = clock()
        let connected: (Int, Resume?)? = state.withLock { state in
            guard state.clients.count < maxClients else { return nil }
            state.nextClient += 1
            var client = Client(outbox: ClientOutbox(limits: limits, topics: topics), wake: continuation)
            let resume = resumePoint.map { Self.resume(&client.outbox, from: $0, state: state, epoch: epoch, now: now) }
            if case .snapshotNeeded? = resume { client.outbox = ClientOutbox(limits: limits, topics: topics) }
            state.clients[state.nextClient] = client
            state.subscribe(state.nextClient, to: topics)
            return (state.nextClient, resume)
        }
        guard let (id, resume) = connected else { return nil }
        self.connected.record(clientCount)
        continuation.yield()
        return (id, wakes, resume)
    }

    private static func resume(
        _ outbox: inout ClientOutbox, from point: ResumePoint, state: State, epoch: String, now: ContinuousClock.Instant
    ) -> Resume {
        guard point.epoch == epoch else { return .snapshotNeeded("sequence of another gateway run (this is \(epoch))") }
        guard point.sequence <= state.sequence else {
            return .snapshotNeeded("sequence \(point.sequence) is ahead of this gateway's \(state.sequence)")
        }
        guard let missed = state.latest.since(point.sequence) else {
            return .snapshotNeeded("sequence \(point.sequence) is older than the \(state.latest.capacity) latest values kept")
        }
        var count = 0
        for message in missed {
            switch outbox.offer(message, at: now) {
            case .queued, .coalesced: count += 1
            case .ignored: break
            case .overflow: return .snapshotNeeded("more than \(outbox.limits.capacity) keys changed since sequence \(point.sequence)")
            }
        }
        return .resumed(count: count)
    }

    func disconnect(_ id: Int) {
        let removed = state.withLock { state in
            state.clients.removeValue(forKey: id).map { client in
                state.unsubscribe(id, from: client.outbox.topics)
                return client
            }
        }
        guard let client = removed else { return }
        client.wake.finish()
        connected.record(clientCount)
    }

    func subscribe(_ id: Int, _ topics: Set<String>) {
        state.withLock { state in
            guard state.clients[id] != nil else { return }
            state.clients[id]?.outbox.subscribe(topics)
            state.subscribe(id, to: topics)
        }
    }

    func unsubscribe(_ id: Int, _ topics: Set<String>) {
        state.withLock { state in
            state.clients[id]?.outbox.unsubscribe(topics)
            state.unsubscribe(id, from: topics)
        }
    }

    /// What client `id`'s writer does next, at the hub's clock.
    func next(_ id: Int) -> Next {
        let now = clock()
        let next: Next = state.withLock { state in
            guard let index = state.clients.index(forKey: id) else { return .cut("disconnected") }
            if let reason = state.clients.values[index].cutReason { return .cut(reason) }
            guard let due = state.clients.values[index].outbox.nextSendAt else { return .idle }
            guard due <= now else { return .wait(until: due) }
            // Due: the frame goes in the client's slot of the global budget, reserved now if it
            // has none; what arrives until then joins it.
            let slot = state.clients.values[index].slot ?? state.budget.reserve(at: now)
            guard slot <= now else {
                state.clients.values[index].slot = slot
                return .wait(until: slot)
            }
            state.clients.values[index].slot = nil
            guard let batch = state.clients.values[index].outbox.takeBatch(at: now) else { return .idle }
            return .send(batch, at: now)
        }
        if case .send = next { batches.increment() }
        return next
    }

    /// Cuts client `id` off because a write did not finish in time.
    func stalled(_ id: Int, after limit: Duration) {
        state.withLock { state in
            guard state.clients[id] != nil else { return }
            Self.cut(&state.clients[id]!, .stalled, "a write did not finish within \(limit)")
        }
    }

    private static func cut(_ client: inout Client, _ reason: CutReason, _ detail: String) {
        guard client.cutReason == nil else { return }
        client.cutReason = "too slow: \(detail)"
        Counter(label: "vakt_gateway_ws_clients_cut_total", dimensions: [("reason", reason.rawValue)]).increment()
    }

    /// A batch as one WebSocket message; `t` is when the hub released it, in milliseconds of the
    /// gateway's clock since `startedAt`, so a client can check the rate itself.
    func batchFrame(_ batch: [FanoutMessage], takenAt: ContinuousClock.Instant, startedAt: ContinuousClock.Instant) -> String {
        var text = "{\"type\":\"batch\",\"t\":\((takenAt - startedAt).milliseconds),\"messages\":["
        text.reserveCapacity(batch.reduce(64) { $0 + $1.frame.utf8.count + 1 })
        for (index, message) in batch.enumerated() {
            if index > 0 { text += "," }
            text += message.frame
        }
        return text + "]}"
    }
}
