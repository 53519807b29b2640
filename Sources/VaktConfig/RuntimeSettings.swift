/// How every service follows the risk policy (`policy:` in the file).
public struct PolicySettings: Sendable {
    /// The JSON snapshot the risk service writes and every service reads while Redis is away.
    public var snapshotPath: String
    /// A copy older than this is refreshed from Redis.
    public var refreshInterval: Duration
    /// A copy older than this makes `/health` warn.
    public var agingLimit: Duration

    init(reading section: ConfigReader.Section, stateDirectory: String) {
        snapshotPath = section.string("snapshot_path", default: stateDirectory + "/policy.json")
        refreshInterval = section.duration("refresh_interval", default: .seconds(60), in: .milliseconds(100)...(.seconds(3600)))
        agingLimit = section.duration("aging_limit", default: .seconds(600), in: .seconds(1)...(.seconds(86_400)))
        if agingLimit <= refreshInterval {
            section.report("aging_limit", "must be longer than refresh_interval, or every refresh would arrive too late")
        }
        section.finish()
    }
}

/// The Emergency Stop System's runtime settings (`ess:`); its thresholds are in the policy.
public struct EmergencyStopSettings: Sendable {
    /// How often the risk service re-evaluates without an event (windows slide, feeds age,
    /// cooldowns end) and confirms its status in Redis.
    public var evaluationInterval: Duration
    /// A status not confirmed for this long reads as `tripped` in every other service.
    public var stateMaxAge: Duration
    /// Name of the secret holding the token for trip, reset and policy changes.
    public var controlTokenSecret: String
    /// How many recent transitions `GET /api/ess` shows.
    public var recentTransitions: Int

    init(reading section: ConfigReader.Section) {
        evaluationInterval = section.duration("evaluation_interval", default: .seconds(1), in: .milliseconds(10)...(.seconds(60)))
        stateMaxAge = section.duration("state_max_age", default: .seconds(5), in: .milliseconds(100)...(.seconds(600)))
        controlTokenSecret = section.string("control_token_secret", default: "control-token")
        recentTransitions = section.int("recent_transitions", default: 20, in: 1...1000)
        if stateMaxAge <= evaluationInterval {
            section.report("state_max_age", "must be longer than evaluation_interval, or every status would read as stale")
        }
        section.finish()
    }
}

/// How the supervisor scrapes and aggregates its children's `/metrics` (`metrics:`).
public struct MetricsSettings: Sendable {
    public var scrapeInterval: Duration
    public var scrapeTimeout: Duration
    /// A larger body fails the scrape.
    public var maxBodyBytes: Int
    /// More samples fail the scrape.
    public var maxSamples: Int
    /// After a failed scrape, the last good samples are still served (and counted as stale)
    /// until they are this old, then dropped.
    public var staleAfter: Duration

    init(reading section: ConfigReader.Section) {
        scrapeInterval = section.duration("scrape_interval", default: .seconds(5), in: .milliseconds(100)...(.seconds(600)))
        scrapeTimeout = section.duration("scrape_timeout", default: .seconds(2), in: .milliseconds(10)...(.seconds(60)))
        maxBodyBytes = section.int("max_body_bytes", default: 16 << 20, in: 1024...(1 << 30))
        maxSamples = section.int("max_samples", default: 200_000, in: 1...10_000_000)
        staleAfter = section.duration("stale_after", default: .seconds(60), in: .seconds(0)...(.seconds(86_400)))
        if scrapeTimeout > scrapeInterval {
            section.report("scrape_timeout", "must not be longer than scrape_interval")
        }
        section.finish()
    }
}

/// How the supervisor samples Redis Streams consumer lag and judges each group (`lag:`).
public struct LagSettings: Sendable {
    public var interval: Duration
    /// Samples in the sliding window each verdict is drawn from.
    public var window: Int
    /// A consumer idle longer than this with entries waiting counts as stopped.
    public var stoppedAfter: Duration

    init(reading section: ConfigReader.Section) {
        interval = section.duration("interval", default: .seconds(5), in: .milliseconds(100)...(.seconds(600)))
        window = section.int("window", default: 10, in: 2...1000)
        stoppedAfter = section.duration("stopped_after", default: .seconds(60), in: .seconds(1)...(.seconds(86_400)))
        section.finish()
    }
}
