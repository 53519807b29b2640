/// How the bus buffers, delivers and retains; `event_bus` in the configuration.
public struct EventBusSettings: Sendable {
    public enum WhenFull: String, Sendable, CaseIterable {
        /// Wait up to ``blockTimeout`` for room, then fail the publish.
        case block
        /// Fail the publish at once.
        case reject
    }

    /// The SQLite file that holds events while Redis is unreachable.
    public var bufferPath: String
    public var bufferMaxEvents: Int
    public var bufferMaxBytes: Int
    public var whenFull: WhenFull
    public var blockTimeout: Duration
    /// The largest envelope accepted, published or read.
    public var maxEnvelopeBytes: Int
    /// Approximate stream length kept (`XADD ... MAXLEN ~`).
    public var retentionMaxLength: Int
    /// Entries read per `XREADGROUP`.
    public var batchSize: Int
    /// How long one `XREADGROUP ... BLOCK` waits.
    public var blockFor: Duration
    /// Pending entries idle this long are claimed (`XAUTOCLAIM`): their consumer died, or their
    /// handler failed and they are due for another try.
    public var claimIdle: Duration
    /// Deliveries after which an entry goes to the dead-letter stream.
    public var maxDeliveries: Int
    /// Event ids remembered per consumer group, to absorb duplicates.
    public var dedupWindow: Int

    public init(
        bufferPath: String, bufferMaxEvents: Int = 1_000_000, bufferMaxBytes: Int = 512 << 20, whenFull: WhenFull = .block,
        blockTimeout: Duration = .seconds(5), maxEnvelopeBytes: Int = 256 << 10, retentionMaxLength: Int = 1_000_000,
        batchSize: Int = 100, blockFor: Duration = .seconds(1), claimIdle: Duration = .seconds(30), maxDeliveries: Int = 5,
        dedupWindow: Int = 100_000
    ) {
        self.bufferPath = bufferPath
        self.bufferMaxEvents = bufferMaxEvents
        self.bufferMaxBytes = bufferMaxBytes
        self.whenFull = whenFull
        self.blockTimeout = blockTimeout
        self.maxEnvelopeBytes = maxEnvelopeBytes
        self.retentionMaxLength = retentionMaxLength
        self.batchSize = batchSize
        self.blockFor = blockFor
        self.claimIdle = claimIdle
        self.maxDeliveries = maxDeliveries
        self.dedupWindow = dedupWindow
    }
}
