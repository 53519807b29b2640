import EventBus

/// How an event becomes a fan-out message: its type is the topic, and the field that names what
/// it is the latest state of is the key (a symbol, an order, a health node, an alert). Events
/// without such a field are one value per topic (the ESS state, the portfolio snapshot).
enum FanoutTopics {
    /// Every event type is a topic a client may subscribe to.
    static let all = Set(EventType.allCases.map(\.rawValue))

    /// The payload fields that name a key, in the order they are looked for.
    static let keyFields = ["clientOrderId", "symbol", "node", "fingerprint", "rule", "action"]

    static func key(of envelope: EventEnvelope) -> String {
        guard case .object(let fields) = envelope.payload else { return envelope.type.rawValue }
        for name in keyFields {
            if case .string(let value)? = fields[name], !value.isEmpty { return value }
        }
        return envelope.type.rawValue
    }

    /// The frame of `envelope` after its sequence number: `,"topic":…,"key":…,"id":…,"at":…,"data":…}`.
    static func frameTail(of envelope: EventEnvelope, key: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        output.append(contentsOf: ",\"topic\":".utf8)
        JSONValue.write(string: envelope.type.rawValue, into: &output)
        output.append(contentsOf: ",\"key\":".utf8)
        JSONValue.write(string: key, into: &output)
        output.append(contentsOf: ",\"id\":".utf8)
        JSONValue.write(string: envelope.id, into: &output)
        output.append(contentsOf: ",\"at\":".utf8)
        JSONValue.write(string: EventEnvelope.timestamp(envelope.occurredAt), into: &output)
        output.append(contentsOf: ",\"data\":".utf8)
        envelope.payload.write(into: &output)
        output.append(UInt8(ascii: "}"))
        return String(decoding: output, as: UTF8.self)
    }
}
