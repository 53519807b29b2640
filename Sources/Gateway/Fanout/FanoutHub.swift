import EventBus
import Foundation
import Metrics
import Synchronization

/// The gateway's WebSocket clients and what each is owed: every event from the bus becomes a
/// numbered message, is kept as its key's latest value (for resumes), and is offered to every
/// client's ``ClientOutbox``; each client's writer takes its batches from here.
///
/// The decisions are the outboxes' and ``LatestValues``'; this is the lock around them, the
/// clock, and the wake-ups.
final class FanoutHub: Sendable {
    /// What a client's writer does next.
    enum Next: Equatable {
        case send([FanoutMessage])
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
    }

    private struct State {
        var sequence: UInt64 = 0
        var latest: LatestValues
        var clients: [Int: Client] = [:]
        var nextClient = 0
    }

    /// Names this run of the gateway: sequences from another run cannot be resumed.
    let epoch: String
    let limits: ClientOutbox.Limits
    let maxClients: Int
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let state: Mutex<State>
    private let connected = Gauge(label: "vakt_gateway_ws_clients")

    init(
        limits: ClientOutbox.Limits, resumeKeys: Int, maxClients: Int, epoch: String = UUID().uuidString.lowercased(),
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.limits = limits
        self.maxClients = maxClients
        self.epoch = epoch
        self.clock = clock
        state = Mutex(State(latest: LatestValues(capacity: resumeKeys)))
        connected.record(0)
        Counter(label: "vakt_gateway_events_total").increment(by: 0)
        Counter(label: "vakt_gateway_ws_batches_total").increment(by: 0)
        Counter(label: "vakt_gateway_ws_updates_coalesced_total").increment(by: 0)
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

    /// Numbers `envelope`, keeps it as its key's latest value and offers it to every client.
    func publish(_ envelope: EventEnvelope) {
        let key = FanoutTopics.key(of: envelope)
        let tail = FanoutTopics.frameTail(of: envelope, key: key)
        let now = clock()
        var coalesced = 0
        let toWake: [AsyncStream<Void>.Continuation] = state.withLock { state in
            state.sequence += 1
            let message = FanoutMessage(
                sequence: state.sequence, topic: envelope.type.rawValue, key: key, frame: "{\"seq\":\(state.sequence)" + tail)
            state.latest.record(message)
            var wake: [AsyncStream<Void>.Continuation] = []
            for id in state.clients.keys {
                switch state.clients[id]!.outbox.offer(message, at: now) {
                case .queued: wake.append(state.clients[id]!.wake)
                case .coalesced: coalesced += 1
                case .ignored: break
                case .overflow:
                    Self.cut(&state.clients[id]!, .overflow, "more than \(limits.capacity) updates waiting")
                    wake.append(state.clients[id]!.wake)
                }
            }
            return wake
        }
        Counter(label: "vakt_gateway_events_total").increment()
        if coalesced > 0 { Counter(label: "vakt_gateway_ws_updates_coalesced_total").increment(by: coalesced) }
        for continuation in toWake { continuation.yield() }
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
        guard let client = state.withLock({ $0.clients.removeValue(forKey: id) }) else { return }
        client.wake.finish()
        connected.record(clientCount)
    }

    func subscribe(_ id: Int, _ topics: Set<String>) {
        state.withLock { $0.clients[id]?.outbox.subscribe(topics) }
    }

    func unsubscribe(_ id: Int, _ topics: Set<String>) {
        state.withLock { $0.clients[id]?.outbox.unsubscribe(topics) }
    }

    /// What client `id`'s writer does next, at the hub's clock.
    func next(_ id: Int) -> Next {
        let now = clock()
        return state.withLock { state in
            guard let client = state.clients[id] else { return .cut("disconnected") }
            if let reason = client.cutReason { return .cut(reason) }
            if let batch = state.clients[id]!.outbox.takeBatch(at: now) {
                Counter(label: "vakt_gateway_ws_batches_total").increment()
                return .send(batch)
            }
            return client.outbox.nextSendAt.map { .wait(until: $0) } ?? .idle
        }
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

    /// A batch as one WebSocket message; `t` is when it left, in milliseconds of the gateway's
    /// clock, so a client can check the rate itself.
    func batchFrame(_ batch: [FanoutMessage], startedAt: ContinuousClock.Instant) -> String {
        let elapsed = clock() - startedAt
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        var text = "{\"type\":\"batch\",\"t\":\(milliseconds),\"messages\":["
        text.reserveCapacity(batch.reduce(64) { $0 + $1.frame.utf8.count + 1 })
        for (index, message) in batch.enumerated() {
            if index > 0 { text += "," }
            text += message.frame
        }
        return text + "]}"
    }
}
