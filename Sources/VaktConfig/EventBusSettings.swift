/// How the bus buffers, delivers and retains; `event_bus` in the configuration.
public struct EventBusSettings: Sendable {
    /// How much of a stream Redis keeps, trimmed on every `XADD` (approximately, `~`, so Redis
    /// trims whole nodes cheaply).
    public enum Retention: Sendable, Equatable {
        /// `MAXLEN ~ n`: about the newest n entries.
        case maxLength(Int)
        /// `MINID ~ <now - age>`: entries younger than age (stream ids start with milliseconds).
        case maxAge(Duration)
    }

    public enum WhenFull: String, Sendable, CaseIterable {
        /// Wait up to ``blockTimeout`` for room, then fail the publish.
        case block
        /// Fail the publish at once.
        case reject
    }

    /// The SQLite file that holds events while Redis is unreachable (in the configuration: the
    /// directory holding one such file per service).
    public var bufferPath: String
    public var bufferMaxEvents: Int
    public var bufferMaxBytes: Int
    public var whenFull: WhenFull
    public var blockTimeout: Duration
    /// The largest envelope accepted, published or read.
    public var maxEnvelopeBytes: Int
    /// Approximate stream length kept (`XADD ... MAXLEN ~`) for streams without their own
    /// ``retention``.
    public var retentionMaxLength: Int
    /// Retention by stream name, where it differs from ``retentionMaxLength``.
    public var retention: [String: Retention] = [:]

    public func retention(of stream: String) -> Retention {
        retention[stream] ?? .maxLength(retentionMaxLength)
    }
    /// Entries read per `XREADGROUP`.
    public var batchSize: Int
    /// How long one `XREADGROUP ... BLOCK` waits.
    public var blockFor: Duration
    /// Pending entries idle this long are claimed (`XAUTOCLAIM`): their consumer died, or their
    /// handler failed and they are due for another try.
    public var claimIdle: Duration
    /// How long one consumer holds an event it is handling before another consumer of the
    /// group may take it: longer than any handler takes, and than ``claimIdle``, so that an
    /// entry claimed because its handler is slow is not handled twice. nil: twice ``claimIdle``.
    public var inflightLease: Duration?
    /// ``inflightLease`` as it applies.
    public var lease: Duration { inflightLease ?? claimIdle * 2 }
    /// Deliveries after which an entry goes to the dead-letter stream.
    public var maxDeliveries: Int
    /// Event ids remembered per consumer group, to absorb duplicates.
    public var dedupWindow: Int
    /// Replicas that must hold a publish before it counts (`WAIT`), so a failover to one of
    /// them loses no event a publisher was told is durable; 0 (the default, one Redis) waits
    /// for none. A publish the replicas do not confirm within ``replicaAckTimeout`` goes to
    /// the disk buffer and is sent again until they do (consumers drop the repeat).
    public var replicaAcks = 0
    public var replicaAckTimeout: Duration = .seconds(1)

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

extension EventBusSettings {
    /// Reads `event_bus`; the buffer file defaults to one per service under the state directory,
    /// named when the service starts (``forService(_:)``).
    init(reading section: ConfigReader.Section, stateDirectory: String) {
        let defaults = EventBusSettings(bufferPath: "")
        self.init(
            bufferPath: section.string("buffer_directory", default: stateDirectory + "/event-buffer"),
            bufferMaxEvents: section.int("buffer_max_events", default: defaults.bufferMaxEvents, in: 1...100_000_000),
            bufferMaxBytes: section.int("buffer_max_bytes", default: defaults.bufferMaxBytes, in: 4096...(1 << 40)),
            whenFull: section.choice("when_full", default: defaults.whenFull),
            blockTimeout: section.duration("block_timeout", default: defaults.blockTimeout, in: .zero...(.seconds(600))),
            maxEnvelopeBytes: section.int("max_envelope_bytes", default: defaults.maxEnvelopeBytes, in: 1024...(64 << 20)),
            retentionMaxLength: section.int("retention_max_length", default: defaults.retentionMaxLength, in: 1000...1_000_000_000),
            batchSize: section.int("batch_size", default: defaults.batchSize, in: 1...4_000),
            blockFor: section.duration("block_for", default: defaults.blockFor, in: .milliseconds(10)...(.seconds(60))),
            claimIdle: section.duration("claim_idle", default: defaults.claimIdle, in: .milliseconds(10)...(.seconds(86400))),
            maxDeliveries: section.int("max_deliveries", default: defaults.maxDeliveries, in: 1...1000),
            dedupWindow: section.int("dedup_window", default: defaults.dedupWindow, in: 100...100_000_000))
        replicaAcks = section.int("replica_acks", default: defaults.replicaAcks, in: 0...16)
        replicaAckTimeout = section.duration(
            "replica_ack_timeout", default: defaults.replicaAckTimeout, in: .milliseconds(10)...(.seconds(60)))
        if section.contains("inflight_lease") {
            inflightLease = section.duration("inflight_lease", default: .zero, in: .milliseconds(20)...(.seconds(86400)))
            if let inflightLease, inflightLease <= claimIdle {
                section.report("inflight_lease", "must be longer than claim_idle, or a claimed slow handler's event would be handled twice")
            }
        }
        let streams = section.section("retention")
        for stream in streams.keys {
            let entry = streams.section(stream)
            if !Self.knownStreams.contains(stream) {
                streams.report(stream, "unknown stream; streams are named like their event type (market.tick) or dlq.<type>")
            }
            let maxLength = entry.optionalInt("max_length", in: 1000...1_000_000_000)
            let maxAge =
                entry.contains("max_age") ? entry.duration("max_age", default: .zero, in: .seconds(1)...(.seconds(10 * 365 * 86400))) : nil
            switch (maxLength, maxAge) {
            case (let length?, nil): retention[stream] = .maxLength(length)
            case (nil, let age?): retention[stream] = .maxAge(age)
            case (_?, _?): entry.report("max_age", "give max_length or max_age, not both")
            case (nil, nil): entry.report("max_length", "give max_length or max_age")
            }
            entry.finish()
        }
        section.finish()
    }

    /// Event types' stream names, and their dead-letter streams. (The types themselves are
    /// the EventBus module's; configuration sits below it, so the names are listed here.)
    static let knownStreams: Set<String> = {
        let types = [
            "market.tick", "market.kline", "signal.generated", "signal.dropped", "order.submitted", "order.filled",
            "order.partially_filled",
            "order.canceled", "order.rejected", "position.updated", "portfolio.snapshot", "ess.state_changed", "policy.updated",
            "health.changed", "alert.fired", "alert.resolved", "model.retrain_requested", "model.promoted", "ess.trip_requested",
            "control.action",
        ]
        return Set(types + types.map { "dlq." + $0 })
    }()

    /// These settings with the buffer file of one service: `<buffer_directory>/<service>.sqlite`.
    public func forService(_ name: String) -> EventBusSettings {
        var settings = self
        settings.bufferPath = "\(bufferPath)/\(name).sqlite"
        return settings
    }
}
