import Alerting
import EventBus
import Foundation
import Logging
import Prometheus
import ServiceKit
import VaktConfig

/// From the alerts firing now to notifications in the outbox: grouping and deduplication in
/// the ``AlertGrouper``, whose state is committed with the notifications it produced, then
/// handed to ``NotificationDelivery``.
actor AlertPipeline {
    private var grouper: AlertGrouper
    private let outbox: AlertOutbox
    private let delivery: NotificationDelivery
    private let settings: AlertSettings
    private let instance: String
    private let events: EventPublisher?
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    /// A commit that failed leaves the state to be committed with the next one.
    private var uncommitted = false

    init(
        outbox: AlertOutbox, state: AlertGrouper.State?, delivery: NotificationDelivery, settings: AlertSettings, instance: String,
        events: EventPublisher?, registry: PrometheusCollectorRegistry, logger: Logger
    ) {
        self.outbox = outbox
        self.delivery = delivery
        self.settings = settings
        self.instance = instance
        self.events = events
        self.registry = registry
        self.logger = logger
        let timing = AlertGrouper.Timing(
            groupBy: settings.groupBy, groupWait: settings.groupWait, groupInterval: settings.groupInterval,
            repeatInterval: settings.repeatInterval)
        grouper = AlertGrouper(timing: timing, state: state ?? AlertGrouper.State())
        for name in MeshAlerts.names { gauge(name).set(to: 0) }
    }

    var firing: [Alert] { grouper.firing }
    var nextDeadline: Date? { grouper.nextDeadline }

    /// Applies the alerts firing now and writes the notifications that are due.
    func update(_ result: MeshAlerts.Result, at now: Date) async {
        let before = Dictionary(grouper.firing.map { ($0.fingerprint, $0) }) { first, _ in first }
        let changed = grouper.update(firing: result.firing, undetermined: result.undetermined, at: now)
        let notifications = grouper.flush(at: now)
        registry.gauge("vakt_alerts_inhibited", help: "Alerts not sent because their root cause's alert fires.").set(
            to: Double(result.inhibited))
        guard changed || !notifications.isEmpty || uncommitted else { return }
        let after = Dictionary(grouper.firing.map { ($0.fingerprint, $0) }) { first, _ in first }
        await announce(before: before, after: after, at: now)
        var counts: [String: Int] = [:]
        for alert in after.values { counts[alert.name, default: 0] += 1 }
        for name in MeshAlerts.names { gauge(name).set(to: Double(counts[name] ?? 0)) }

        var rows: [(receiver: String, groupKey: String, body: Data)] = []
        for notification in notifications {
            logger.notice(
                "alert notification",
                metadata: [
                    "group": "\(notification.groupKey)", "status": "\(notification.status)", "alerts": "\(notification.alerts.count)",
                ])
            for receiver in settings.receivers {
                for body in NotificationPayloads.bodies(
                    for: notification, receiver: receiver, externalURL: settings.externalURL, instance: instance)
                {
                    rows.append((receiver.name, notification.groupKey, body))
                }
            }
        }
        do {
            try await outbox.commit(state: grouper.state, notifications: rows, at: now)
            uncommitted = false
        } catch {
            // The notifications are lost with this commit, but the state is not advanced on
            // disk either: after a restart the same alerts are notified again.
            uncommitted = true
            logger.critical("cannot write the alert outbox; notifications not queued", metadata: ["error": "\(error)"])
        }
        if !rows.isEmpty { delivery.notify() }
    }

    private nonisolated func gauge(_ name: String) -> Gauge {
        registry.gauge("vakt_alerts_firing", help: "Alerts firing now, by name.", labels: [("alertname", name)])
    }

    private func announce(before: [String: Alert], after: [String: Alert], at now: Date) async {
        guard let events else { return }
        var envelopes: [EventEnvelope] = []
        for (fingerprint, alert) in after where before[fingerprint] == nil {
            envelopes.append(EventEnvelope(AlertFired(Self.notice(alert, fingerprint: fingerprint)), source: "supervisor"))
        }
        for (fingerprint, var alert) in before where after[fingerprint] == nil {
            alert.endsAt = now
            envelopes.append(EventEnvelope(AlertResolved(Self.notice(alert, fingerprint: fingerprint)), source: "supervisor"))
        }
        guard !envelopes.isEmpty else { return }
        do {
            try await events.publish(envelopes)
        } catch {
            logger.error("cannot announce alerts on the bus", metadata: ["error": "\(error)"])
        }
    }

    static func notice(_ alert: Alert, fingerprint: String) -> AlertNotice {
        AlertNotice(
            fingerprint: fingerprint, labels: alert.labels, annotations: alert.annotations, startsAt: alert.startsAt, endsAt: alert.endsAt)
    }
}
