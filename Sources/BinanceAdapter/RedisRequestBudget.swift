import Binance
import Foundation
import Logging
import Metrics
import RedisClient
import Synchronization

/// The request budget of every host behind one public IP, in Redis under one key
/// (`exchange.budget_redis_key`): Binance counts weight and orders per IP, and bans the IP,
/// so hosts that leave through one address must reserve from one budget, and a ban one host
/// meets stops them all.
///
/// Each update reads the budget, decides in this process (the same ``RequestBudget`` a file
/// holds on one host) and writes it back only if nobody wrote between (a compare-and-set
/// script); otherwise it reads again. While Redis cannot be reached, the host keeps to its
/// own file (``SharedRequestBudget``) at `exchange.budget_fallback_share` of each limit, so
/// hosts cut off together stay within the limits; the exchange's used-weight headers correct
/// either budget upwards. Reached again, the file's counts, pauses and ban are added to the
/// shared budget once (then cleared from the file) before anything else is reserved.
public final class RedisRequestBudget: RequestBudgetStore {
    public let key: String
    private let redis: RedisConnection
    private let fallback: SharedRequestBudget
    /// The limits from `exchangeInfo`, once read.
    private let limits = Mutex<[RateLimit]?>(nil)
    private let guardTime: Int64
    /// Since when Redis has been out of reach (nil while it answers).
    private let cutOff = Mutex<Date?>(nil)
    private let logger: Logger

    /// Sets the key to the new budget only if it still holds what was read (`""`: nothing).
    static let compareAndSet = """
        local current = redis.call('GET', KEYS[1])
        if (current == false and ARGV[1] == '') or current == ARGV[1] then
          redis.call('SET', KEYS[1], ARGV[2])
          return 1
        end
        return 0
        """

    public init(redis: RedisConnection, key: String, fallback: SharedRequestBudget, guardTime: Int64, logger: Logger) {
        self.redis = redis
        self.key = key
        self.fallback = fallback
        self.guardTime = guardTime
        self.logger = logger
        Gauge(label: "vakt_exchange_budget_cut_off").record(0)
    }

    /// Since when this host has kept to its own share because Redis could not be reached.
    public var cutOffSince: Date? { cutOff.withLock { $0 } }

    public func adopt(_ limits: [RateLimit]) {
        self.limits.withLock { $0 = limits }
        fallback.adopt(limits)
    }

    public func update<T: Sendable>(_ body: (inout RequestBudget) -> T) async -> T {
        do {
            if cutOffSince != nil { try await rejoin() }
            while true {
                let (stored, budget) = try await read()
                var updated = budget
                let result = body(&updated)
                if try await write(updated, replacing: stored) { return result }
            }
        } catch {
            if cutOff.withLock({ since in
                defer { since = since ?? Date() }
                return since == nil
            }) {
                Gauge(label: "vakt_exchange_budget_cut_off").record(1)
                logger.error(
                    "the shared exchange budget in Redis cannot be reached: this host keeps to its own share of each limit",
                    metadata: ["key": "\(key)", "error": "\(error)", "file": "\(fallback.path)"])
            }
            return await fallback.update(body)
        }
    }

    /// Hands the counts, pauses and ban this host kept on its own to the shared budget, once.
    private func rejoin() async throws(RedisError) {
        var (stored, budget) = try await read()
        let own = await fallback.update { budget in
            defer { budget = budget.withoutCounts }
            return budget
        }
        do {
            while try !(await write(budget.merging(own), replacing: stored)) {
                (stored, budget) = try await read()
            }
        } catch {
            // Not handed over: the file keeps them for the next attempt.
            await fallback.update { $0 = $0.merging(own) }
            throw error
        }
        let since = cutOff.withLock { since in
            defer { since = nil }
            return since
        }
        Gauge(label: "vakt_exchange_budget_cut_off").record(0)
        logger.notice(
            "the shared exchange budget in Redis is reached again; this host's own counts were added to it",
            metadata: ["key": "\(key)", "cut_off_seconds": "\(since.map { Int(Date().timeIntervalSince($0)) } ?? 0)"])
    }

    /// The stored text (empty when there is none) and the budget it holds, under the limits
    /// `exchangeInfo` announced. A budget of another format is started anew.
    private func read() async throws(RedisError) -> (stored: String, budget: RequestBudget) {
        let stored = try await redis.command(["GET", key]).string ?? ""
        let values = stored.split(separator: ",").compactMap { Int64($0) }
        let limits = self.limits.withLock { $0 }
        var budget = RequestBudget(decoding: values) ?? RequestBudget(limits: limits ?? [], guardTime: guardTime)
        if let limits { budget = budget.adopting(limits) }
        return (stored, budget)
    }

    /// Whether `budget` replaced `stored` (false: another process wrote first).
    private func write(_ budget: RequestBudget, replacing stored: String) async throws(RedisError) -> Bool {
        let text = budget.encoded.map(String.init).joined(separator: ",")
        let reply = try await redis.command(["EVAL", Self.compareAndSet, "1", key, stored, text])
        if case .error(let message) = reply { throw .server(message) }
        return reply.integer == 1
    }
}
