import Foundation
import Money

/// The payload of one event type, in code. Reading reports every problem at once (through
/// ``PayloadReader``); writing carries amounts as decimal strings. Each event type of
/// ``EventType`` has exactly one payload type; `docs/events.md` lists their fields, and a test
/// fails when the list and the types disagree.
public protocol EventPayload: Sendable, Equatable {
    static var eventType: EventType { get }
    /// Raised when the payload changes in a way old readers cannot take; fields may be added
    /// without it (readers allow fields they do not know).
    static var schemaVersion: Int { get }
    /// Reads the fields; a missing or malformed one is reported on `reader` and the result is nil.
    init?(reading reader: PayloadReader)
    /// The payload as JSON: amounts as decimal strings, times as ISO 8601 text, absent optional
    /// fields left out.
    var json: JSONValue { get }
    /// One with every field set: the field list of `docs/events.md`, and the round-trip tests.
    static var example: Self { get }
}

extension EventPayload {
    public static var schemaVersion: Int { 1 }

    /// Reads a payload, throwing every problem, each naming its field.
    public init(json: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(json, name: "\(Self.eventType.rawValue) payload")
        let payload = Self(reading: reader)
        try reader.finish(allowing: true)
        guard let payload else {
            // A reader that returns nil has reported why; this is a reader that did not.
            throw PayloadError(problems: ["\(Self.eventType.rawValue) payload: not readable"])
        }
        self = payload
    }
}

extension EventEnvelope {
    /// An envelope for a typed payload: the type and schema version come from the payload.
    public init<Payload: EventPayload>(
        _ payload: Payload, source: String, occurredAt: Date = Date(), id: String = EventID.make()
    ) {
        self.init(
            id: id, type: Payload.eventType, source: source, occurredAt: occurredAt, schemaVersion: Payload.schemaVersion,
            payload: payload.json)
    }

    /// The payload, read as `Payload`: the envelope's type must be its type, and its schema
    /// version not newer than the one this code reads.
    public func decode<Payload: EventPayload>(_: Payload.Type = Payload.self) throws(PayloadError) -> Payload {
        guard type == Payload.eventType else {
            throw PayloadError(problems: ["expected a \(Payload.eventType.rawValue) event, got \(type.rawValue)"])
        }
        guard schemaVersion <= Payload.schemaVersion else {
            throw PayloadError(problems: [
                "\(type.rawValue) schema version \(schemaVersion) is newer than \(Payload.schemaVersion), the newest this service reads"
            ])
        }
        return try Payload(json: payload)
    }
}

extension JSONValue {
    /// An object of the fields that are set: optional fields that are nil are left out.
    public static func fields(_ fields: [String: JSONValue?]) -> JSONValue {
        .object(fields.compactMapValues { $0 })
    }

    /// An exact amount as JSON: its decimal string.
    public static func amount(_ amount: some DecimalAmount) -> JSONValue { .string(amount.description) }

    /// A time as JSON: ISO 8601 UTC with milliseconds.
    public static func time(_ date: Date) -> JSONValue { .string(EventEnvelope.timestamp(date)) }
}
