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
