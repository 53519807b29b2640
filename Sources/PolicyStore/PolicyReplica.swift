import EventBus
import Foundation
import Logging
import Metrics
import RedisClient
import Synchronization
import VaktConfig

/// Where policies live: the keys in Redis and the snapshot file the authority writes.
public enum PolicyKeys {
    public static let current = "vakt:policy:current"
    public static let history = "vakt:policy:history"
}

/// One service's copy of the policy.
///
/// It takes every `policy.updated` event, refreshes itself from Redis when the copy is older
/// than the refresh interval, and falls back to the authority's snapshot file while Redis is
/// unreachable. A newer version replaces the copy; an older one is ignored; the same version
/// with different content is refused and counted (`vakt_policy_conflicts_total`), the copy kept.
public final class PolicyReplica: Sendable {
    public enum Origin: String, Sendable {
        case event, redis, snapshot, authority
    }

    public enum Outcome: Sendable, Equatable {
        case applied, unchanged, older, conflict
    }

    public struct Copy: Sendable {
        public var document: PolicyDocument
        public var origin: Origin
        /// When the copy was last confirmed as the authority's current policy.
        public var confirmedAt: Date
    }

    private let redis: RedisConnection?
    private let snapshotPath: String
    public let refreshInterval: Duration
    public let agingLimit: Duration
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private let copy = Mutex<Copy?>(nil)
    private let lastRefreshError = Mutex<String?>(nil)

    public init(
        redis: RedisConnection?, snapshotPath: String, refreshInterval: Duration, agingLimit: Duration,
        clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.redis = redis
        self.snapshotPath = snapshotPath
        self.refreshInterval = refreshInterval
        self.agingLimit = agingLimit
        self.clock = clock
        self.logger = logger
        // Exported from the start, so that an alert on its increase has a series to watch.
        Counter(label: "vakt_policy_conflicts_total").increment(by: 0)
    }

    public var current: Copy? { copy.withLock { $0 } }
    public var refreshError: String? { lastRefreshError.withLock { $0 } }

    /// Seconds since the copy was last confirmed; nil without a copy.
    public var age: TimeInterval? { current.map { clock().timeIntervalSince($0.confirmedAt) } }

    @discardableResult
    public func apply(_ document: PolicyDocument, from origin: Origin) -> Outcome {
        let now = clock()
        let outcome: Outcome = copy.withLock { copy in
            guard let existing = copy else {
                copy = Copy(document: document, origin: origin, confirmedAt: now)
                return .applied
            }
            if document.version > existing.document.version {
                copy = Copy(document: document, origin: origin, confirmedAt: now)
                return .applied
            }
            if document.version < existing.document.version { return .older }
            guard document == existing.document else { return .conflict }
            copy?.confirmedAt = now
            copy?.origin = origin
            return .unchanged
        }
        switch outcome {
        case .applied:
            logger.notice(
                "policy applied", metadata: ["version": "\(document.version)", "by": "\(document.updatedBy)", "from": "\(origin.rawValue)"])
            Gauge(label: "vakt_policy_version").record(document.version)
        case .conflict:
            Counter(label: "vakt_policy_conflicts_total").increment()
            logger.error(
                "policy conflict: same version, different content; keeping the copy",
                metadata: ["version": "\(document.version)", "from": "\(origin.rawValue)"])
        case .unchanged, .older:
            break
        }
        return outcome
    }

    /// The handler for `policy.updated` events.
    public func handle(_ event: EventEnvelope) throws {
        apply(try event.decode(PolicyUpdated.self).document, from: .event)
    }

    /// Reads the policy from Redis, or from the snapshot when Redis cannot answer.
    public func refresh() async {
        do {
            guard let redis else { throw RedisError.unavailable(reason: "no Redis configured", retryIn: .zero) }
            let reply = try await redis.command(["GET", PolicyKeys.current])
            guard case .bulk(let bytes) = reply else {
                lastRefreshError.withLock { $0 = "no policy in Redis yet" }
                return
            }
            apply(try PolicyDocument(data: Data(bytes)), from: .redis)
            lastRefreshError.withLock { $0 = nil }
        } catch let error as RedisError {
            lastRefreshError.withLock { $0 = "Redis: \(error)" }
            readSnapshot()
        } catch {
            lastRefreshError.withLock { $0 = "policy in Redis is invalid: \(error)" }
            logger.error("policy in Redis is invalid", metadata: ["error": "\(error)"])
        }
    }

    private func readSnapshot() {
        guard let data = FileManager.default.contents(atPath: snapshotPath) else { return }
        do {
            apply(try PolicyDocument(data: data), from: .snapshot)
        } catch {
            logger.error("policy snapshot is invalid", metadata: ["path": "\(snapshotPath)", "error": "\(error)"])
        }
    }

    /// Refreshes whenever the copy is older than the refresh interval, until cancelled.
    public func run() async {
        while !Task.isCancelled {
            if age.map({ $0 >= refreshInterval.seconds }) ?? true { await refresh() }
            let wait = min(refreshInterval, .seconds(1))
            try? await Task.sleep(for: wait)
        }
    }
}
