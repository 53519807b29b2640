import Foundation

/// One reading of a consumer group on one stream.
public struct LagSample: Sendable, Equatable {
    public var at: Date
    /// Entries not yet delivered to the group; Redis 7 cannot always tell (nil).
    public var lag: Int?
    /// Entries delivered and not yet acknowledged.
    public var pending: Int
    /// Entries the group has read in total (`entries-read`); nil when Redis cannot tell.
    public var entriesRead: Int?
    public var lastDeliveredID: String
    /// The shortest time since any of the group's consumers last asked for entries.
    public var consumerIdle: Duration?

    public init(at: Date, lag: Int?, pending: Int, entriesRead: Int?, lastDeliveredID: String, consumerIdle: Duration?) {
        self.at = at
        self.lag = lag
        self.pending = pending
        self.entriesRead = entriesRead
        self.lastDeliveredID = lastDeliveredID
        self.consumerIdle = consumerIdle
    }

    /// What the group still has to do: undelivered plus unacknowledged entries.
    var backlog: Int { (lag ?? 0) + pending }
    /// A position that only moves when the group makes progress.
    var progress: String { "\(entriesRead.map(String.init) ?? "?")/\(lastDeliveredID)/\(pending)" }
}

/// A group's health, after Burrow's consumer evaluation.
public enum LagStatus: String, Sendable, CaseIterable {
    /// Keeping up, or not enough readings yet to say otherwise.
    case ok = "OK"
    /// Falling behind: the backlog never decreased across the window, and grew.
    case warn = "WARN"
    /// Consumers are there but made no progress across the window while entries waited.
    case stall = "STALL"
    /// Consumers stopped asking: none read for `stoppedAfter` while entries waited.
    case stop = "STOP"
    /// The group could not be read.
    case err = "ERR"
}

/// The verdict on a window of readings, oldest first, and why.
public struct LagVerdict: Sendable, Equatable {
    public var status: LagStatus
    public var reason: String

    public init(status: LagStatus, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// The rules, in order (documented in docs/operations.md):
    /// 1. no readings, or a reading error: ERR;
    /// 2. entries waiting and every consumer idle longer than `stoppedAfter` (or no consumer): STOP;
    /// 3. a full window with entries waiting in every reading and no progress at all: STALL;
    /// 4. a full window whose backlog never decreased and ended higher than it began: WARN;
    /// 5. otherwise OK.
    public static func evaluate(_ window: [LagSample], size: Int, stoppedAfter: Duration, error: String? = nil) -> LagVerdict {
        if let error { return LagVerdict(status: .err, reason: error) }
        guard let last = window.last, let first = window.first else { return LagVerdict(status: .err, reason: "no readings") }
        if last.backlog > 0 && (last.consumerIdle.map { $0 > stoppedAfter } ?? true) {
            let idle = last.consumerIdle.map { "consumers idle for \(Int($0.components.seconds)) s" } ?? "no consumers"
            return LagVerdict(status: .stop, reason: "\(last.backlog) entries waiting and \(idle)")
        }
        guard window.count >= size else { return LagVerdict(status: .ok, reason: "collecting readings (\(window.count) of \(size))") }
        if window.allSatisfy({ $0.backlog > 0 }) && Set(window.map(\.progress)).count == 1 {
            return LagVerdict(status: .stall, reason: "no progress across \(window.count) readings with \(last.backlog) entries waiting")
        }
        let backlogs = window.map(\.backlog)
        if zip(backlogs, backlogs.dropFirst()).allSatisfy({ $0 <= $1 }) && last.backlog > first.backlog {
            return LagVerdict(status: .warn, reason: "backlog grew from \(first.backlog) to \(last.backlog) and never decreased")
        }
        return LagVerdict(status: .ok, reason: "backlog \(last.backlog)")
    }
}
