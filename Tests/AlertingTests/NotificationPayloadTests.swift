import Alerting
import Foundation
import Testing
import VaktConfig

@Suite struct NotificationPayloadTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func alert(_ service: String, resolvedAt: Date? = nil) -> Alert {
        Alert(
            labels: ["alertname": "VaktServiceFailing", "service": service, "severity": "critical", "instance": "prod"],
            annotations: ["summary": "\(service) is failing", "runbook_url": "docs/runbook.md#vaktservicefailing"],
            startsAt: start, endsAt: resolvedAt, generatorURL: "http://127.0.0.1:8005/api/mesh")
    }

    func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func theWebhookPayloadIsAlertmanagersVersion4() throws {
        let notification = GroupNotification(
            groupKey: "{}:{alertname=\"VaktServiceFailing\"}", groupLabels: ["alertname": "VaktServiceFailing"],
            alerts: [alert("execution"), alert("risk", resolvedAt: start + 60)])
        let body = try object(NotificationPayloads.webhook(notification, receiver: "oncall", externalURL: "http://vakt:8005"))
        #expect(body["version"] as? String == "4")
        #expect(body["groupKey"] as? String == "{}:{alertname=\"VaktServiceFailing\"}")
        #expect(body["status"] as? String == "firing")
        #expect(body["receiver"] as? String == "oncall")
        #expect(body["externalURL"] as? String == "http://vakt:8005")
        #expect(body["groupLabels"] as? [String: String] == ["alertname": "VaktServiceFailing"])
        #expect(
            body["commonLabels"] as? [String: String] == ["alertname": "VaktServiceFailing", "severity": "critical", "instance": "prod"])
        #expect((body["commonAnnotations"] as? [String: String])?["runbook_url"] == "docs/runbook.md#vaktservicefailing")
        let alerts = try #require(body["alerts"] as? [[String: Any]])
        #expect(alerts.count == 2)
        #expect(alerts[0]["status"] as? String == "firing")
        #expect(alerts[0]["endsAt"] as? String == "0001-01-01T00:00:00Z")
        #expect(alerts[0]["startsAt"] as? String == "2027-01-15T08:00:00.000Z")
        #expect(alerts[0]["fingerprint"] as? String == alert("execution").fingerprint)
        #expect(alerts[1]["status"] as? String == "resolved")
        #expect(alerts[1]["endsAt"] as? String == "2027-01-15T08:01:00.000Z")
    }

    @Test func pagerDutyTriggersAndResolvesUnderOneDedupKey() throws {
        let trigger = try object(NotificationPayloads.pagerDuty(alert("execution"), externalURL: "http://vakt:8005", instance: "prod"))
        let resolve = try object(
            NotificationPayloads.pagerDuty(alert("execution", resolvedAt: start + 60), externalURL: "http://vakt:8005", instance: "prod"))
        #expect(trigger["event_action"] as? String == "trigger")
        #expect(resolve["event_action"] as? String == "resolve")
        #expect(trigger["dedup_key"] as? String == "vakt/prod/\(alert("execution").fingerprint)")
        #expect(resolve["dedup_key"] as? String == trigger["dedup_key"] as? String)
        #expect(trigger["routing_key"] == nil, "the routing key is a secret, added only when sending")
        let payload = try #require(trigger["payload"] as? [String: Any])
        #expect(payload["severity"] as? String == "critical")
        #expect(payload["summary"] as? String == "execution is failing")
        #expect(payload["source"] as? String == "prod/execution")
        #expect((trigger["links"] as? [[String: String]])?.first?["href"] == "docs/runbook.md#vaktservicefailing")
    }

    @Test func alertmanagerPushCarriesEndsAtOnlyWhenResolved() throws {
        let body = try #require(
            try JSONSerialization.jsonObject(
                with: NotificationPayloads.alertmanagerPush([alert("execution"), alert("risk", resolvedAt: start + 1)]))
                as? [[String: Any]])
        #expect(body.count == 2)
        #expect(body[0]["endsAt"] == nil)
        #expect(body[1]["endsAt"] as? String == "2027-01-15T08:00:01.000Z")
        #expect(body[0]["generatorURL"] as? String == "http://127.0.0.1:8005/api/mesh")
    }

    @Test func eachReceiverKindGetsItsBodies() {
        let notification = GroupNotification(groupKey: "k", groupLabels: [:], alerts: [alert("execution"), alert("risk")])
        func bodies(_ kind: AlertSettings.Receiver.Kind) -> Int {
            NotificationPayloads.bodies(
                for: notification,
                receiver: .init(name: "r", kind: kind, url: "http://x", urlSecret: nil, tokenSecret: nil, routingKeySecret: "k"),
                externalURL: "http://vakt", instance: "prod"
            ).count
        }
        #expect(bodies(.webhook) == 1)
        #expect(bodies(.alertmanager) == 1)
        #expect(bodies(.pagerduty) == 2, "one event per alert")
    }
}
