import EventBus
import Foundation
import VaktConfig

/// The bodies each kind of receiver takes, built from a group notification. None holds a
/// secret: PagerDuty's routing key is added at delivery (see ``NotificationDelivery``).
public enum NotificationPayloads {
    /// What a receiver is sent for one group notification: one body, or one per alert.
    public static func bodies(
        for notification: GroupNotification, receiver: AlertSettings.Receiver, externalURL: String, instance: String
    ) -> [Data] {
        switch receiver.kind {
        case .webhook:
            [webhook(notification, receiver: receiver.name, externalURL: externalURL)]
        case .pagerduty:
            notification.alerts.map { pagerDuty($0, externalURL: externalURL, instance: instance) }
        case .alertmanager:
            [alertmanagerPush(notification.alerts)]
        }
    }

    /// Alertmanager's webhook payload, version 4, so any tool that takes Alertmanager webhooks
    /// takes ours.
    public static func webhook(_ notification: GroupNotification, receiver: String, externalURL: String) -> Data {
        let alerts = notification.alerts
        let object: [String: Any] = [
            "version": "4",
            "groupKey": notification.groupKey,
            "truncatedAlerts": 0,
            "status": notification.status,
            "receiver": receiver,
            "groupLabels": notification.groupLabels,
            "commonLabels": common(alerts.map(\.labels)),
            "commonAnnotations": common(alerts.map(\.annotations)),
            "externalURL": externalURL,
            "alerts": alerts.map { alert -> [String: Any] in
                [
                    "status": alert.status, "labels": alert.labels, "annotations": alert.annotations,
                    "startsAt": EventEnvelope.timestamp(alert.startsAt),
                    // Alertmanager's zero time for an alert that has not ended.
                    "endsAt": alert.endsAt.map(EventEnvelope.timestamp) ?? "0001-01-01T00:00:00Z",
                    "generatorURL": alert.generatorURL, "fingerprint": alert.fingerprint,
                ]
            },
        ]
        return encode(object)
    }

    /// One PagerDuty Events API v2 event: `trigger` while firing, `resolve` once resolved,
    /// under a `dedup_key` that stays the same for the alert's whole life and across restarts.
    public static func pagerDuty(_ alert: Alert, externalURL: String, instance: String) -> Data {
        let dedupKey = "vakt/\(instance)/\(alert.fingerprint)"
        guard !alert.isResolved else {
            return encode(["event_action": "resolve", "dedup_key": dedupKey])
        }
        let severity =
            switch alert.labels["severity"] {
            case "critical": "critical"
            case "warning": "warning"
            case "info": "info"
            default: "error"
            }
        var object: [String: Any] = [
            "event_action": "trigger",
            "dedup_key": dedupKey,
            "client": "Vakt \(instance)",
            "client_url": externalURL,
            "payload": [
                "summary": String((alert.annotations["summary"] ?? alert.name).prefix(1024)),
                "source": "\(instance)/\(alert.labels["service"] ?? "vakt")",
                "severity": severity,
                "timestamp": EventEnvelope.timestamp(alert.startsAt),
                "component": alert.labels["service"] ?? "",
                "group": alert.name,
                "custom_details": alert.labels.merging(alert.annotations) { label, _ in label },
            ],
        ]
        if let runbook = alert.annotations["runbook_url"] {
            object["links"] = [["href": runbook, "text": "Runbook"]]
        }
        return encode(object)
    }

    /// The body of `POST /api/v2/alerts`: Alertmanager resolves an alert whose `endsAt` passed.
    public static func alertmanagerPush(_ alerts: [Alert]) -> Data {
        encode(
            alerts.map { alert -> [String: Any] in
                var entry: [String: Any] = [
                    "labels": alert.labels, "annotations": alert.annotations, "startsAt": EventEnvelope.timestamp(alert.startsAt),
                    "generatorURL": alert.generatorURL,
                ]
                if let ends = alert.endsAt { entry["endsAt"] = EventEnvelope.timestamp(ends) }
                return entry
            })
    }

    /// The pairs every map has alike.
    static func common(_ maps: [[String: String]]) -> [String: String] {
        guard var result = maps.first else { return [:] }
        for map in maps.dropFirst() {
            result = result.filter { map[$0.key] == $0.value }
        }
        return result
    }

    static func encode(_ object: Any) -> Data {
        // Built from strings, numbers, arrays and dictionaries only: serializable by construction.
        try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
