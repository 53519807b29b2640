/// One update as WebSocket clients receive it: the event's topic (its type), the key it is the
/// latest value of (a symbol, a health node, an order), and its place in the gateway's sequence.
/// The frame is encoded once and shared by every client.
public struct FanoutMessage: Sendable, Equatable {
    public var sequence: UInt64
    public var topic: String
    public var key: String
    /// `{"seq":…,"topic":…,"key":…,"data":…}`.
    public var frame: String

    public init(sequence: UInt64, topic: String, key: String, frame: String) {
        self.sequence = sequence
        self.topic = topic
        self.key = key
        self.frame = frame
    }

    /// What coalescing replaces: a newer message of the same topic and key.
    var slot: Slot { Slot(topic: topic, key: key) }

    struct Slot: Hashable, Sendable {
        var topic: String
        var key: String
    }
}
