import Alerting
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus
import Synchronization
import Testing
import VaktConfig
import VaktTesting

/// Delivery from a real SQLite outbox to a real local HTTP receiver, on a clock the test moves.
@Suite struct NotificationDeliveryTests {
    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
        var read: @Sendable () -> Date { { self.now.withLock { $0 } } }
    }

    struct Fixture {
        let outbox: AlertOutbox
        let delivery: NotificationDelivery
        let registry: PrometheusCollectorRegistry
        let clock: Clock
        let path: String

        init(receivers: String, environment: [String: String] = [:]) async throws {
            let directory = try TestEnvironment.temporaryDirectory("vakt-alerts")
            path = directory.appendingPathComponent("alerts.sqlite").path
            let configuration = try ConfigurationLoader.parse(
                yaml: """
                    alerts:
                      outbox_path: \(path)
                      retry_initial: 1s
                      retry_maximum: 8s
                      give_up_after: 1h
                      # Not the subject here: generous, so that a loaded machine's slow answer
                      # is never taken for a failed delivery.
                      delivery_timeout: 60s
                      receivers:
                    \(receivers)
                    """, file: "test.yaml", environment: [:])
            outbox = try await AlertOutbox.open(path: path).0
            registry = PrometheusCollectorRegistry()
            clock = Clock()
            delivery = NotificationDelivery(
                outbox: outbox, settings: configuration.alerts, secrets: SecretStore(environment: environment),
                httpClient: HTTPClient.shared,
                registry: registry, logger: Logger(label: "test"), clock: clock.read)
        }

        func enqueue(_ body: String, receiver: String = "oncall", group: String = "g") async throws {
            try await outbox.commit(state: AlertGrouper.State(), notifications: [(receiver, group, Data(body.utf8))], at: clock.read())
        }

        func metric(_ name: String, _ receiver: String = "oncall") -> String? {
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix("\(name){receiver=\"\(receiver)\"} ") }
                .map { String($0.split(separator: " ").last!) }
        }
    }

    @Test func aServerErrorIsRetriedAndTheNotificationDeliveredExactlyOnce() async throws {
        let receiver = try await ScriptedHTTPServer { _, count in count == 1 ? .json(500, "{}") : .json(200, "{}") }
        let fixture = try await Fixture(receivers: "    oncall: { url: \"\(receiver.url)/hook\" }")
        try await fixture.enqueue("{\"n\":1}")
        #expect(await fixture.delivery.deliverDue() == 1)
        #expect(receiver.requests.count == 1)
        #expect(await fixture.delivery.deliverDue() == 0, "not due before its backoff")
        #expect(try await fixture.outbox.pendingCounts() == ["oncall": 1])
        fixture.clock.advance(1)
        #expect(await fixture.delivery.deliverDue() == 1)
        fixture.clock.advance(3600)
        #expect(await fixture.delivery.deliverDue() == 0)
        #expect(receiver.requests.count == 2)
        #expect(receiver.requests.allSatisfy { $0.text == "{\"n\":1}" && $0.path == "/hook" && $0.method == "POST" })
        #expect(try await fixture.outbox.pendingCounts().isEmpty)
        #expect(fixture.metric("vakt_alert_notifications_sent_total") == "1")
        #expect(fixture.metric("vakt_alert_notification_retries_total") == "1")
        #expect(fixture.metric("vakt_alert_notifications_queued") == "0.0")
        await receiver.stop()
    }

    @Test func aClientErrorIsNotRetriedAndCountsAsFailed() async throws {
        let receiver = try await ScriptedHTTPServer { _, _ in .json(400, "{\"error\":\"bad payload\"}") }
        let fixture = try await Fixture(receivers: "    oncall: { url: \"\(receiver.url)/hook\" }")
        try await fixture.enqueue("{}")
        #expect(await fixture.delivery.deliverDue() == 1)
        fixture.clock.advance(3600)
        #expect(await fixture.delivery.deliverDue() == 0)
        #expect(receiver.requests.count == 1)
        #expect(fixture.metric("vakt_alert_notifications_failed_total") == "1")
        #expect(fixture.metric("vakt_alert_notifications_sent_total") == "0")
        await receiver.stop()
    }

    @Test func tooManyRequestsAndUnreachableReceiversBackOffExponentiallyThenGiveUp() async throws {
        let receiver = try await ScriptedHTTPServer { _, _ in .json(429, "{}") }
        // Unreachable: every connection closed before an answer. (A refused port would do too,
        // but AsyncHTTPClient retries a refused connect until the delivery timeout, which would
        // make each attempt last the whole, deliberately generous, timeout.)
        let gone = try await ScriptedHTTPServer { _, _ in .close }
        let fixture = try await Fixture(
            receivers: "    oncall: { url: \"\(receiver.url)/hook\" }\n    gone: { url: \"\(gone.url)/hook\" }")
        try await fixture.enqueue("{}")
        try await fixture.enqueue("{}", receiver: "gone")
        var attemptsAt: [Double] = []
        var elapsed = 0.0
        while elapsed < 40 {
            if await fixture.delivery.deliverDue() > 0 { attemptsAt.append(elapsed) }
            fixture.clock.advance(0.5)
            elapsed += 0.5
        }
        // 1 s doubling, capped at 8 s: attempts at 0, 1, 3, 7, 15, 23, 31, 39.
        #expect(attemptsAt == [0, 1, 3, 7, 15, 23, 31, 39])
        #expect(receiver.requests.count == 8)
        fixture.clock.advance(3600)
        _ = await fixture.delivery.deliverDue()
        #expect(try await fixture.outbox.pendingCounts().isEmpty, "given up after give_up_after")
        #expect(fixture.metric("vakt_alert_notifications_failed_total") == "1")
        #expect(fixture.metric("vakt_alert_notifications_failed_total", "gone") == "1")
        await receiver.stop()
        await gone.stop()
    }

    @Test func aGroupsNotificationsArriveInOrderEvenWhenTheFirstIsRetried() async throws {
        let receiver = try await ScriptedHTTPServer { _, count in count == 1 ? .json(503, "{}") : .json(200, "{}") }
        let fixture = try await Fixture(receivers: "    oncall: { url: \"\(receiver.url)/hook\" }")
        try await fixture.enqueue("firing")
        try await fixture.enqueue("resolved")
        _ = await fixture.delivery.deliverDue()
        _ = await fixture.delivery.deliverDue()
        #expect(receiver.requests.map(\.text) == ["firing"], "resolved waits for the firing it resolves")
        fixture.clock.advance(1)
        _ = await fixture.delivery.deliverDue()
        _ = await fixture.delivery.deliverDue()
        #expect(receiver.requests.map(\.text) == ["firing", "firing", "resolved"])
        await receiver.stop()
    }

    @Test func secretsComeFromTheEnvironmentAtDeliveryAndNeverFromTheOutbox() async throws {
        let receiver = try await ScriptedHTTPServer { _, _ in .json(202, "{\"status\":\"success\"}") }
        let fixture = try await Fixture(
            receivers: """
                    hook: { url_secret: hook-url, token_secret: hook-token }
                    pager: { type: pagerduty, url: "\(receiver.url)/v2/enqueue", routing_key_secret: pd-key }
                    am: { type: alertmanager, url: "\(receiver.url)" }
                """,
            environment: [
                "VAKT_SECRET_HOOK_URL": "\(receiver.url)/secret-hook", "VAKT_SECRET_HOOK_TOKEN": "hook-token-value",
                "VAKT_SECRET_PD_KEY": "R0UT1NGKEY",
            ])
        try await fixture.enqueue("{}", receiver: "hook")
        try await fixture.enqueue("{\"event_action\":\"trigger\",\"dedup_key\":\"d\"}", receiver: "pager")
        try await fixture.enqueue("[]", receiver: "am")
        _ = await fixture.delivery.deliverDue()
        let requests = receiver.requests
        let hook = try #require(requests.first { $0.path == "/secret-hook" })
        #expect(hook.header("Authorization") == "Bearer hook-token-value")
        let pager = try #require(requests.first { $0.path == "/v2/enqueue" })
        let body = try #require(try JSONSerialization.jsonObject(with: Data(pager.body)) as? [String: String])
        #expect(body == ["event_action": "trigger", "dedup_key": "d", "routing_key": "R0UT1NGKEY"])
        #expect(requests.contains { $0.path == "/api/v2/alerts" })
        let stored = try String(decoding: Data(contentsOf: URL(fileURLWithPath: fixture.path)), as: UTF8.self)
        #expect(!stored.contains("R0UT1NGKEY") && !stored.contains("hook-token-value"))
        await receiver.stop()
    }

    @Test func aMissingSecretKeepsTheNotificationWaitingInsteadOfLosingIt() async throws {
        let fixture = try await Fixture(receivers: "    pager: { type: pagerduty, routing_key_secret: pd-key }")
        try await fixture.enqueue("{}", receiver: "pager")
        _ = await fixture.delivery.deliverDue()
        #expect(try await fixture.outbox.pendingCounts() == ["pager": 1])
        #expect(fixture.metric("vakt_alert_notifications_failed_total", "pager") == "0")
    }
}
