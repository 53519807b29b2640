/// The API gateway's settings (`gateway`): who may read, how the dashboard's snapshot is kept
/// current, and how the WebSocket fan-out batches, limits and cuts off its clients. See
/// docs/configuration.md.
public struct GatewaySettings: Sendable, Equatable {
    /// The secret holding the read token (snapshot and WebSocket); the control token reads too.
    public var readTokenSecret: String
    /// Every snapshot section is read again from its service at least this often.
    public var refreshInterval: Duration
    /// A section is read at most this often, however many events change it.
    public var refreshSpacing: Duration
    /// How long a read of a service may take.
    public var refreshTimeout: Duration
    /// How long the first waiting update waits for others to join its batch.
    public var batchWindow: Duration
    /// Messages a client gets in any second, at most.
    public var maxMessagesPerSecond: Int
    /// Frames the gateway sends per second across all its clients: under load each client's
    /// frames are spaced further apart and carry more coalesced updates.
    public var maxFramesPerSecond: Int
    /// Keys waiting for one client at most; one more and it is cut off as too slow.
    public var clientQueue: Int
    /// A write to a client not finished in this long cuts it off as stalled.
    public var stallTimeout: Duration
    /// A connection that has not said hello by then is closed.
    public var helloTimeout: Duration
    /// Latest values kept for clients that resume after a reconnect.
    public var resumeKeys: Int
    public var maxClients: Int
    /// No event from the bus for this long makes `/health` warn (market data ticks every second
    /// in a running system).
    public var busAgeLimit: Duration
    /// Names this gateway among several behind a load balancer. Each reads every event into
    /// its own consumer group, `gateway.<name>` (a group shared by two would split the events
    /// between them, and each client would miss half); empty, the one gateway's group is
    /// `gateway`.
    public var instanceName: String
    /// The consumer group this gateway reads the bus in.
    public var consumerGroup: String { instanceName.isEmpty ? "gateway" : "gateway.\(instanceName)" }

    init(reading section: ConfigReader.Section) {
        readTokenSecret = section.string("read_token_secret", default: "read-token")
        refreshInterval = section.duration("refresh_interval", default: .seconds(2), in: .milliseconds(100)...(.seconds(600)))
        refreshSpacing = section.duration("refresh_spacing", default: .milliseconds(250), in: .milliseconds(10)...(.seconds(60)))
        refreshTimeout = section.duration("refresh_timeout", default: .seconds(2), in: .milliseconds(10)...(.seconds(60)))
        batchWindow = section.duration("batch_window", default: .milliseconds(10), in: .milliseconds(1)...(.seconds(1)))
        maxMessagesPerSecond = section.int("max_messages_per_second", default: 50, in: 1...1000)
        maxFramesPerSecond = section.int("max_frames_per_second", default: 10_000, in: 10...1_000_000)
        clientQueue = section.int("client_queue", default: 5_000, in: 10...1_000_000)
        stallTimeout = section.duration("stall_timeout", default: .seconds(5), in: .milliseconds(100)...(.seconds(600)))
        helloTimeout = section.duration("hello_timeout", default: .seconds(10), in: .milliseconds(100)...(.seconds(600)))
        resumeKeys = section.int("resume_keys", default: 50_000, in: 100...10_000_000)
        maxClients = section.int("max_clients", default: 2_000, in: 1...100_000)
        busAgeLimit = section.duration("bus_age_limit", default: .seconds(30), in: .seconds(1)...(.seconds(86_400)))
        instanceName = section.string("instance_name", default: "")
        if !instanceName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) || instanceName.count > 64 {
            section.report("instance_name", "\"\(instanceName)\" is not up to 64 of [A-Za-z0-9_-]")
        }
        if refreshSpacing > refreshInterval {
            section.report("refresh_spacing", "must not be longer than refresh_interval")
        }
        section.finish()
    }
}
