import Foundation
import VaktConfig

/// One group's notification: everything in the group that is firing, and what resolved since
/// the group's last notification.
public struct GroupNotification: Sendable, Equatable {
    public var groupKey: String
    public var groupLabels: [String: String]
    public var alerts: [Alert]

    public init(groupKey: String, groupLabels: [String: String], alerts: [Alert]) {
        self.groupKey = groupKey
        self.groupLabels = groupLabels
        self.alerts = alerts
    }

    public var status: String { alerts.contains { !$0.isResolved } ? "firing" : "resolved" }
}

/// Alertmanager's grouping, deduplication and resolution, as a value: alerts with equal values
/// of the `group_by` labels form a group; a new group waits `group_wait` before its first
/// notification, a changed group waits until `group_interval` after its last, an unchanged one
/// with alerts firing is notified again after `repeat_interval`. Alerts already notified are
/// not notified again as new; alerts that stop firing are sent once as resolved, then dropped.
/// Its state is `Codable` so that the outbox keeps it with the notifications it produced.
public struct AlertGrouper: Sendable {
    public struct Timing: Sendable {
        public var groupBy: [String]
        public var groupWait: Duration
        public var groupInterval: Duration
        public var repeatInterval: Duration

        public init(groupBy: [String], groupWait: Duration, groupInterval: Duration, repeatInterval: Duration) {
            self.groupBy = groupBy
            self.groupWait = groupWait
            self.groupInterval = groupInterval
            self.repeatInterval = repeatInterval
        }
    }

    struct Group: Sendable, Codable, Equatable {
        var labels: [String: String]
        var alerts: [String: Alert]
        var createdAt: Date
        var lastFlushAt: Date?
        var changed: Bool
        /// Fingerprints some receiver was told are firing; only those are sent as resolved.
        var notified: Set<String>
    }

    public struct State: Sendable, Codable, Equatable {
        var groups: [String: Group] = [:]

        public init() {}
    }

    public let timing: Timing
    public private(set) var state: State

    public init(timing: Timing, state: State = State()) {
        self.timing = timing
        self.state = state
    }

    /// Every alert firing now, in every group.
    public var firing: [Alert] {
        state.groups.values.flatMap(\.alerts.values).filter { !$0.isResolved }
    }

    /// Alertmanager's group key: the route (here the one root route, `{}`) and the group labels.
    public func groupKey(for labels: [String: String]) -> String {
        let pairs = timing.groupBy.sorted().map { "\($0)=\"\(labels[$0] ?? "")\"" }
        return "{}:{\(pairs.joined(separator: ","))}"
    }

    /// Makes the firing set `firing`: new alerts join their groups, alerts no longer firing are
    /// resolved at `now`, except those whose fingerprint is in `undetermined` (their condition
    /// cannot be judged yet, such as after a restart), which stay as they are.
    /// Returns whether anything changed.
    @discardableResult
    public mutating func update(firing: [Alert], undetermined: Set<String> = [], at now: Date) -> Bool {
        var changed = false
        var current: Set<String> = []
        for alert in firing {
            let fingerprint = alert.fingerprint
            current.insert(fingerprint)
            let key = groupKey(for: alert.labels)
            var group =
                state.groups[key]
                ?? Group(
                    labels: Dictionary(uniqueKeysWithValues: timing.groupBy.map { ($0, alert.labels[$0] ?? "") }), alerts: [:],
                    createdAt: now, lastFlushAt: nil, changed: false, notified: [])
            if let existing = group.alerts[fingerprint], !existing.isResolved {
                // Same alert still firing: its description may change, its start does not.
                group.alerts[fingerprint]?.annotations = alert.annotations
            } else {
                var added = alert
                added.endsAt = nil
                group.alerts[fingerprint] = added
                group.changed = true
                changed = true
            }
            state.groups[key] = group
        }
        for (key, group) in state.groups {
            for (fingerprint, alert) in group.alerts
            where !alert.isResolved && !current.contains(fingerprint) && !undetermined.contains(fingerprint) {
                state.groups[key]?.alerts[fingerprint]?.endsAt = now
                state.groups[key]?.changed = true
                changed = true
            }
        }
        return changed
    }

    /// The notifications due at `now`; the groups are updated as if they were sent.
    public mutating func flush(at now: Date) -> [GroupNotification] {
        var notifications: [GroupNotification] = []
        for key in state.groups.keys.sorted() {
            guard var group = state.groups[key], isDue(group, at: now) else { continue }
            let alerts = group.alerts.values
                .filter { !$0.isResolved || group.notified.contains($0.fingerprint) }
                .sorted { ($0.startsAt, $0.fingerprint) < ($1.startsAt, $1.fingerprint) }
            if !alerts.isEmpty {
                notifications.append(GroupNotification(groupKey: key, groupLabels: group.labels, alerts: alerts))
            }
            group.lastFlushAt = now
            group.changed = false
            for alert in group.alerts.values {
                if alert.isResolved {
                    group.notified.remove(alert.fingerprint)
                } else {
                    group.notified.insert(alert.fingerprint)
                }
            }
            group.alerts = group.alerts.filter { !$0.value.isResolved }
            state.groups[key] = group.alerts.isEmpty ? nil : group
        }
        return notifications
    }

    /// When the next notification is due if nothing changes.
    public var nextDeadline: Date? {
        state.groups.values.compactMap { group in
            guard let last = group.lastFlushAt else { return group.createdAt + timing.groupWait.seconds }
            if group.changed { return last + timing.groupInterval.seconds }
            return group.alerts.isEmpty ? nil : last + timing.repeatInterval.seconds
        }.min()
    }

    private func isDue(_ group: Group, at now: Date) -> Bool {
        guard let last = group.lastFlushAt else { return now >= group.createdAt + timing.groupWait.seconds }
        if group.changed { return now >= last + timing.groupInterval.seconds }
        return !group.alerts.isEmpty && now >= last + timing.repeatInterval.seconds
    }
}
