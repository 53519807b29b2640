import Foundation
import Metrics
import RedisClient
import Synchronization

/// Samples every consumer group of every event stream (`XINFO STREAM`, `XINFO GROUPS`,
/// `XINFO CONSUMERS`) into a sliding window and judges each (``LagVerdict``). The verdicts
/// are exported as `vakt_consumer_group_status{stream,group,status}` and read by `/health`.
public final class ConsumerLagMonitor: Sendable {
    public struct Group: Sendable, Equatable {
        public var stream: String
        public var group: String
        public var verdict: LagVerdict
        public var latest: LagSample?
    }

    private let redis: RedisConnection
    private let windowSize: Int
    private let stoppedAfter: Duration
    private let streams: [String]
    private let clock: @Sendable () -> Date
    private let windows = Mutex<[String: [LagSample]]>([:])
    private let verdicts = Mutex<[Group]>([])

    public init(
        redis: RedisConnection, windowSize: Int, stoppedAfter: Duration, streams: [String] = EventType.allCases.map(\.stream),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.redis = redis
        self.windowSize = windowSize
        self.stoppedAfter = stoppedAfter
        self.streams = streams
        self.clock = clock
    }

    public var groups: [Group] { verdicts.withLock { $0 } }

    /// Takes one reading of every group and updates the verdicts.
    public func sample() async {
        var results: [Group] = []
        for stream in streams {
            let groups: [(name: String, sample: LagSample?, error: String?)]
            do {
                groups = try await read(stream)
            } catch {
                let known = windows.withLock { $0.keys.filter { $0.hasPrefix(stream + "\u{0}") } }
                groups = known.map { (String($0.dropFirst(stream.count + 1)), nil, "cannot read \(stream): \(error)") }
            }
            for (name, sample, error) in groups {
                let key = stream + "\u{0}" + name
                let window = windows.withLock { windows in
                    if let sample { windows[key, default: []].append(sample) }
                    windows[key] = Array((windows[key] ?? []).suffix(windowSize))
                    return windows[key] ?? []
                }
                let verdict = LagVerdict.evaluate(window, size: windowSize, stoppedAfter: stoppedAfter, error: error)
                results.append(Group(stream: stream, group: name, verdict: verdict, latest: window.last))
            }
        }
        verdicts.withLock { $0 = results }
        for group in results { record(group) }
    }

    private func record(_ group: Group) {
        let dimensions = [("stream", group.stream), ("group", group.group)]
        for status in LagStatus.allCases {
            Gauge(label: "vakt_consumer_group_status", dimensions: dimensions + [("status", status.rawValue)])
                .record(group.verdict.status == status ? 1 : 0)
        }
        if let latest = group.latest {
            Gauge(label: "vakt_consumer_group_backlog", dimensions: dimensions).record(latest.backlog)
        }
    }

    private func read(_ stream: String) async throws -> [(name: String, sample: LagSample?, error: String?)] {
        let replies = try await redis.pipeline([["XINFO", "STREAM", stream], ["XINFO", "GROUPS", stream]])
        if case .error(let message) = replies[0] {
            // A stream nobody has written yet has no groups to judge.
            if message.contains("no such key") { return [] }
            throw RedisError.server(message)
        }
        guard case .array(let groupReplies) = replies[1] else { return [] }
        let entriesAdded = replies[0].fields["entries-added"]?.integer.map(Int.init)
        var result: [(String, LagSample?, String?)] = []
        for group in groupReplies.compactMap(EventStreamInspector.group) {
            var lag = group.lag
            if lag == nil, let entriesAdded, let entriesRead = group.entriesRead { lag = max(0, entriesAdded - entriesRead) }
            let consumers = try await redis.command(["XINFO", "CONSUMERS", stream, group.name])
            let idle = (consumers.array ?? []).compactMap { $0.fields["idle"]?.integer }.min().map { Duration.milliseconds($0) }
            let sample = LagSample(
                at: clock(), lag: lag, pending: group.pending, entriesRead: group.entriesRead, lastDeliveredID: group.lastDeliveredID,
                consumerIdle: idle)
            result.append((group.name, sample, nil))
        }
        return result
    }
}
