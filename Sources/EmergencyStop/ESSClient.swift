import EventBus
import Foundation
import Logging
import RedisClient
import Synchronization
import VaktConfig

/// How services other than risk read the ESS, fail-safe: the last status seen (from
/// `ess.state_changed` or the Redis mirror the risk service keeps fresh), and `tripped` whenever
/// that status is unknown or older than `maxAge`. When in doubt, no new orders.
public final class ESSClient: Sendable {
    /// The Redis key the risk service mirrors its status in, confirmed every evaluation tick.
    public static let mirrorKey = "vakt:ess:status"

    private let redis: RedisConnection
    private let maxAge: Duration
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private let latest = Mutex<ESSStatus?>(nil)
    private let mirrorOutage = Mutex(Outage())

    public init(redis: RedisConnection, maxAge: Duration, clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.redis = redis
        self.maxAge = maxAge
        self.clock = clock
        self.logger = logger
    }

    /// The status trading must obey now.
    public var current: ESSStatus {
        let now = clock()
        guard let status = latest.withLock({ $0 }) else {
            return Self.failSafe(reason: "ESS state unknown: no status from the risk service yet", now: now)
        }
        let age = now.timeIntervalSince(status.confirmedAt)
        let limit = maxAge.seconds
        guard age <= limit else {
            return Self.failSafe(
                reason: "ESS state is \(Int(age.rounded(.up))) s old (limit \(Int(limit)) s): the risk service is not confirming it",
                now: now)
        }
        return status
    }

    /// The last status the risk service confirmed, however old: what an alert about the ESS
    /// reports. Trading obeys ``current``, which reads an old status as tripped.
    public var lastConfirmed: ESSStatus? { latest.withLock { $0 } }

    /// Takes a status from an event or the mirror, keeping the most recently confirmed one.
    public func apply(_ status: ESSStatus) {
        latest.withLock { current in
            if current.map({ status.confirmedAt >= $0.confirmedAt }) ?? true { current = status }
        }
    }

    /// Reads the mirror once; a failure leaves the last status to age.
    public func refresh() async {
        do {
            // No key: the risk service has not written it yet, which its own health reports.
            if case .bulk(let bytes) = try await redis.command(["GET", Self.mirrorKey]) {
                apply(try ESSStatus(json: try JSONValue(parsing: bytes)))
            }
            if let ended = mirrorOutage.withLock({ $0.succeeded(at: .now) }) {
                logger.notice("reading the ESS status mirror again", metadata: ["failed_reads": "\(ended.failedAttempts)"])
            }
        } catch {
            // Logged once per outage (Redis away, or a mirror that does not decode), not every read.
            if mirrorOutage.withLock({ $0.failed(at: .now) }) {
                logger.warning("cannot read the ESS status mirror; retrying quietly until it answers", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Keeps the status fresh from the mirror, three reads per `maxAge`, until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await refresh()
            try? await Task.sleep(for: maxAge / 3)
        }
    }

    /// The handler for `ess.state_changed` events.
    public func handle(_ event: EventEnvelope) throws {
        apply(try event.decode(ESSStateChanged.self).status)
    }

    static func failSafe(reason: String, now: Date) -> ESSStatus {
        ESSStatus(
            state: .tripped, since: now, reason: reason, source: "ess-client", trigger: .stateUnknown, cooldownEndsAt: nil, confirmedAt: now
        )
    }
}
