/// One update as WebSocket clients receive it: the event's topic (its type), the key it is the
/// latest value of (a symbol, a health node, an order), and its place in the gateway's sequence.
/// The frame is encoded once and shared by every client.
public struct FanoutMessage: Sendable, Equatable {
    public let sequence: UInt64
    public let topic: String
    public let key: String
    /// `{"seq":…,"topic":…,"key":…,"data":…}`.
    public let frame: String

    /// What coalescing replaces: a newer message of the same topic and key.
    let slot: Slot

    public init(sequence: UInt64, topic: String, key: String, frame: String) {
        self.sequence = sequence
        self.topic = topic
        self.key = key
        self.frame = frame
        slot = Slot(topic: topic, key: key)
    }

    /// A topic and key, hashed once: every client's outbox looks each message up by it.
    struct Slot: Hashable, Sendable {
        let topic: String
        let key: String
        private let hash: Int

        init(topic: String, key: String) {
            self.topic = topic
            self.key = key
            var hasher = Hasher()
            hasher.combine(topic)
            hasher.combine(key)
            hash = hasher.finalize()
        }

        static func == (left: Slot, right: Slot) -> Bool {
            left.hash == right.hash && left.topic == right.topic && left.key == right.key
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }
}
