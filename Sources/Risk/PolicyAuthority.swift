import EventBus
import Foundation
import Logging
import Metrics
import PolicyStore
import RedisClient
import ServiceKit

/// The one place policies change: validated, numbered, stored in Redis (current and history)
/// and in the snapshot file, announced as `policy.updated`.
actor PolicyAuthority {
    enum UpdateError: Error, CustomStringConvertible {
        case versionMismatch(expected: Int, current: Int)
        case storeUnavailable(String)

        var description: String {
            switch self {
            case .versionMismatch(let expected, let current):
                "expectedVersion is \(expected) but the current policy is version \(current); read it again and retry"
            case .storeUnavailable(let reason): "the policy could not be stored, nothing changed: \(reason)"
            }
        }
    }

    static let historyLength = 1000

    private let redis: RedisConnection
    private let snapshotPath: String
    private let events: EventPublisher
    private let replica: PolicyReplica
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private(set) var current: PolicyDocument

    private init(
        current: PolicyDocument, redis: RedisConnection, snapshotPath: String, events: EventPublisher, replica: PolicyReplica,
        clock: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.current = current
        self.redis = redis
        self.snapshotPath = snapshotPath
        self.events = events
        self.replica = replica
        self.clock = clock
        self.logger = logger
    }

    /// Loads the newest policy of Redis and the snapshot (defaults when neither has one) and
    /// brings both up to it. The same version with different content is a conflict: the
    /// snapshot, which only this service writes, wins, under a new version so every copy moves.
    static func start(
        redis: RedisConnection, snapshotPath: String, events: EventPublisher, replica: PolicyReplica, clock: @escaping @Sendable () -> Date,
        logger: Logger
    ) async throws -> PolicyAuthority {
        let stored = try await readRedis(redis)
        let snapshot = readSnapshot(snapshotPath, logger: logger)
        var chosen: PolicyDocument
        switch (stored, snapshot) {
        case (nil, nil):
            chosen = PolicyDocument(version: 1, updatedAt: clock(), updatedBy: "defaults", policy: .defaults)
            logger.notice("no policy stored yet; starting from the defaults")
        case (let one?, nil), (nil, let one?):
            chosen = one
        case (let inRedis?, let onDisk?):
            chosen = inRedis.version > onDisk.version ? inRedis : onDisk
            if inRedis.version == onDisk.version && inRedis != onDisk {
                Counter(label: "vakt_policy_conflicts_total").increment()
                logger.error(
                    "policy conflict: Redis and the snapshot hold different policies under the same version; the snapshot wins",
                    metadata: ["version": "\(onDisk.version)"])
                chosen = PolicyDocument(
                    version: onDisk.version + 1, updatedAt: clock(), updatedBy: "risk (conflict resolution)", policy: onDisk.policy)
            }
        }
        let authority = PolicyAuthority(
            current: chosen, redis: redis, snapshotPath: snapshotPath, events: events, replica: replica, clock: clock, logger: logger)
        if stored != chosen || snapshot != chosen { try await authority.store(chosen, announce: stored != chosen) }
        replica.apply(chosen, from: .authority)
        return authority
    }

    /// Replaces the policy (already validated) and returns the stored document.
    func update(_ policy: RiskPolicy, by author: String, expectedVersion: Int?) async throws(UpdateError) -> PolicyDocument {
        if let expectedVersion, expectedVersion != current.version {
            throw .versionMismatch(expected: expectedVersion, current: current.version)
        }
        let document = PolicyDocument(version: current.version + 1, updatedAt: clock(), updatedBy: author, policy: policy)
        do {
            try await store(document, announce: true)
        } catch {
            throw .storeUnavailable("\(error)")
        }
        replica.apply(document, from: .authority)
        logger.notice("policy updated", metadata: ["version": "\(document.version)", "by": "\(author)"])
        return document
    }

    /// The stored history, newest first.
    func history(limit: Int) async throws -> [PolicyDocument] {
        let reply = try await redis.command(["LRANGE", PolicyKeys.history, "0", String(limit - 1)])
        guard case .array(let items) = reply else { return [] }
        return items.compactMap { item in
            guard case .bulk(let bytes) = item else { return nil }
            return try? PolicyDocument(data: Data(bytes))
        }
    }

    /// Snapshot prepared, Redis written, snapshot put in place, then announced: if Redis
    /// refuses, neither store changed.
    private func store(_ document: PolicyDocument, announce: Bool) async throws {
        let data = document.data
        let temporary = try DurableFile.prepare(data, at: snapshotPath)
        do {
            let replies = try await redis.pipeline(bytes: [
                [Array("SET".utf8), Array(PolicyKeys.current.utf8), Array(data)],
                [Array("LPUSH".utf8), Array(PolicyKeys.history.utf8), Array(data)],
                [Array("LTRIM".utf8), Array(PolicyKeys.history.utf8), Array("0".utf8), Array(String(Self.historyLength - 1).utf8)],
            ])
            if let failure = replies.first(where: { if case .error = $0 { true } else { false } }) {
                throw RedisError.server("\(failure)")
            }
            try DurableFile.commit(temporary, to: snapshotPath)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        current = document
        if announce {
            try await events.publish(EventEnvelope(PolicyUpdated(document), source: "risk"))
        }
    }

    /// The snapshot, if there is a valid one; an invalid one is moved aside for inspection.
    private static func readSnapshot(_ path: String, logger: Logger) -> PolicyDocument? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try PolicyDocument(data: data)
        } catch {
            let aside = path + ".invalid-\(Int(Date().timeIntervalSince1970))"
            try? FileManager.default.moveItem(atPath: path, toPath: aside)
            logger.error(
                "policy snapshot is invalid; moved aside", metadata: ["path": "\(path)", "moved_to": "\(aside)", "error": "\(error)"])
            return nil
        }
    }

    private static func readRedis(_ redis: RedisConnection) async throws -> PolicyDocument? {
        guard case .bulk(let bytes) = try await redis.command(["GET", PolicyKeys.current]) else { return nil }
        return try PolicyDocument(data: Data(bytes))
    }
}
