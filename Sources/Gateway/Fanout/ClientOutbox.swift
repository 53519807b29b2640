/// What one WebSocket client is owed, and when it may have it: the pure core of the fan-out.
///
/// Updates wait at most one batching window and go out together as one message; no more than
/// `maxMessagesPerSecond` messages leave in any second; while an update waits, a newer one of the
/// same topic and key replaces it, so a burst reaches the client as its final state, never as a
/// backlog; and past `capacity` waiting keys the client is too slow to keep and is cut off.
/// Every decision is a function of the state, the input and the time given.
struct ClientOutbox {
    struct Limits: Sendable, Equatable {
        /// How long the first waiting update waits for others to join it.
        var batchWindow: Duration
        var maxMessagesPerSecond: Int
        /// Waiting keys at most; one more and the client is cut off.
        var capacity: Int
    }

    enum Offer: Equatable {
        /// Not a topic the client subscribed to.
        case ignored
        case queued
        /// Replaced a waiting update of the same key.
        case coalesced
        /// Past the bound: the client must be cut off.
        case overflow
    }

    let limits: Limits
    private(set) var topics: Set<String>
    private var waiting: [FanoutMessage.Slot: FanoutMessage] = [:]
    private var firstWaitingAt: ContinuousClock.Instant?
    /// When the last `maxMessagesPerSecond` messages left, oldest first.
    private var sentAt: [ContinuousClock.Instant] = []

    init(limits: Limits, topics: Set<String>) {
        self.limits = limits
        self.topics = topics
    }

    mutating func subscribe(_ added: Set<String>) { topics.formUnion(added) }

    mutating func unsubscribe(_ removed: Set<String>) {
        topics.subtract(removed)
        waiting = waiting.filter { topics.contains($0.key.topic) }
        if waiting.isEmpty { firstWaitingAt = nil }
    }

    /// Takes `message` in, or says why not. Messages a client gets on resume are offered the
    /// same way, so they too are batched, limited and coalesced.
    mutating func offer(_ message: FanoutMessage, at now: ContinuousClock.Instant) -> Offer {
        guard topics.contains(message.topic) else { return .ignored }
        if waiting[message.slot] != nil {
            waiting[message.slot] = message
            return .coalesced
        }
        guard waiting.count < limits.capacity else { return .overflow }
        waiting[message.slot] = message
        if firstWaitingAt == nil { firstWaitingAt = now }
        return .queued
    }

    /// When the next batch may go: nil while nothing waits.
    var nextSendAt: ContinuousClock.Instant? {
        guard let firstWaitingAt else { return nil }
        let windowEnds = firstWaitingAt + limits.batchWindow
        guard sentAt.count >= limits.maxMessagesPerSecond, let oldest = sentAt.first else { return windowEnds }
        // A message may leave once the oldest of the last allowed number is a second old.
        return max(windowEnds, oldest + .seconds(1))
    }

    /// The waiting updates, oldest first, if they may go at `now`; they are then sent.
    mutating func takeBatch(at now: ContinuousClock.Instant) -> [FanoutMessage]? {
        guard let due = nextSendAt, now >= due else { return nil }
        let batch = waiting.values.sorted { $0.sequence < $1.sequence }
        waiting = [:]
        firstWaitingAt = nil
        sentAt.append(now)
        while sentAt.count > limits.maxMessagesPerSecond { sentAt.removeFirst() }
        return batch
    }
}
