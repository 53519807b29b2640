// EventBus: Redis Streams with a SQLite disk buffer. ``EventPublisher`` returns only once an
// event is durable, in Redis or on disk, and flushes the disk in order when Redis is back;
// ``EventConsumer`` reads as a consumer group member, re-reads its pending entries, claims
// those of dead consumers, dead-letters poison, and absorbs duplicates by event id.
// The envelope and streams are described in docs/events.md.

/// The event types of the system; each has a stream of its own, named like the type.
public enum EventType: String, Sendable, CaseIterable, Codable {
    case marketTick = "market.tick"
    case marketKline = "market.kline"
    case signalGenerated = "signal.generated"
    case signalDropped = "signal.dropped"
    case orderSubmitted = "order.submitted"
    case orderFilled = "order.filled"
    case orderPartiallyFilled = "order.partially_filled"
    case orderCanceled = "order.canceled"
    case orderRejected = "order.rejected"
    case positionUpdated = "position.updated"
    case portfolioSnapshot = "portfolio.snapshot"
    case essStateChanged = "ess.state_changed"
    case essTripRequested = "ess.trip_requested"
    case policyUpdated = "policy.updated"
    case healthChanged = "health.changed"
    case alertFired = "alert.fired"
    case alertResolved = "alert.resolved"
    case modelRetrainRequested = "model.retrain_requested"
    case modelPromoted = "model.promoted"
    case controlAction = "control.action"

    /// The Redis stream holding events of this type.
    public var stream: String { rawValue }

    /// The stream where this type's poison entries go, with the reason.
    public var deadLetterStream: String { "dlq.\(rawValue)" }
}
