import Binance
import HealthFormat
import Logging
import Metrics
import ServiceKit
import Synchronization

/// Writes closed klines to the history without ever holding up the feed: a kline whose write
/// fails (PostgreSQL down) waits in a bounded queue and goes with the next write that
/// succeeds, oldest first. Only past `capacity` waiting klines is the oldest dropped, and
/// counted (`vakt_market_history_dropped_total`).
final class HistoryWriter: Sendable {
    private let history: KlineHistory
    private let logger: Logger
    let capacity: Int
    private struct Queue {
        /// Numbered in the order queued, so a write removes exactly what it wrote even when
        /// the oldest were dropped meanwhile.
        var waiting: [(number: Int, series: KlineContinuity.Series, kline: Kline)] = []
        var queued = 0
        var failing = false
    }
    private let queue = Mutex(Queue())
    /// One write at a time, so the queue goes out in order.
    private let writing = SingleFlight()

    init(history: KlineHistory, logger: Logger, capacity: Int = 100_000) {
        self.history = history
        self.logger = logger
        self.capacity = capacity
        Counter(label: "vakt_market_history_dropped_total").increment(by: 0)
        Counter(label: "vakt_market_history_write_failures_total").increment(by: 0)
    }

    /// How many klines wait to be written, and whether the last write failed.
    var backlog: (count: Int, failing: Bool) { queue.withLock { ($0.waiting.count, $0.failing) } }

    /// Queues `klines` and writes what waits, unless a write is under way (which takes them).
    func write(_ klines: [Kline], series: KlineContinuity.Series) async {
        let dropped = queue.withLock { queue in
            for kline in klines {
                queue.queued += 1
                queue.waiting.append((queue.queued, series, kline))
            }
            let excess = max(queue.waiting.count - capacity, 0)
            queue.waiting.removeFirst(excess)
            return excess
        }
        if dropped > 0 { Counter(label: "vakt_market_history_dropped_total").increment(by: dropped) }
        await writing.run { await writeWaiting() }
    }

    /// Writes what waits, oldest first, in batches, until nothing waits or a write fails.
    private func writeWaiting() async {
        while let batch = queue.withLock({ $0.waiting.isEmpty ? nil : Array($0.waiting.prefix(1_000)) }) {
            do {
                for (series, group) in Self.bySeries(batch) {
                    try await history.store(group, symbol: series.symbol, interval: series.interval)
                }
                let written = batch.last?.number ?? 0
                let recovered = queue.withLock { queue in
                    queue.waiting.removeAll { $0.number <= written }
                    defer { queue.failing = false }
                    return queue.failing
                }
                if recovered { logger.info("kline history written again", metadata: ["klines": "\(batch.count)"]) }
            } catch {
                Counter(label: "vakt_market_history_write_failures_total").increment()
                let first = queue.withLock { queue in
                    defer { queue.failing = true }
                    return !queue.failing
                }
                if first {
                    logger.error(
                        "kline history not written; klines wait in memory until PostgreSQL answers",
                        metadata: ["error": "\(PostgresErrorText.describe(error))", "waiting": "\(backlog.count)"])
                }
                return
            }
        }
    }

    /// `market:history`: warns while klines wait for PostgreSQL after a failed write (how many).
    var healthCheck: any HealthCheck { Check(writer: self) }

    struct Check: HealthCheck {
        let writer: HistoryWriter
        let key = "market:history"
        let componentType = "datastore"

        func measure() async throws -> HealthMeasurement {
            let backlog = writer.backlog
            Gauge(label: "vakt_market_history_backlog").record(backlog.count)
            return HealthMeasurement(
                status: backlog.failing ? .warn : .pass, value: Double(backlog.count), unit: "klines",
                output: backlog.failing
                    ? "\(backlog.count) klines wait for PostgreSQL (at most \(writer.capacity) are kept)" : "kline history written")
        }
    }

    /// The batch's klines by series, each series in the batch's order.
    private static func bySeries(_ batch: [(number: Int, series: KlineContinuity.Series, kline: Kline)])
        -> [(KlineContinuity.Series, [Kline])]
    {
        var order: [KlineContinuity.Series] = []
        var groups: [KlineContinuity.Series: [Kline]] = [:]
        for (_, series, kline) in batch {
            if groups[series] == nil { order.append(series) }
            groups[series, default: []].append(kline)
        }
        return order.map { ($0, groups[$0] ?? []) }
    }
}
