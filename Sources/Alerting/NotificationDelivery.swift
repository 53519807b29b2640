import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Prometheus
import PrometheusText
import Synchronization
import VaktConfig

/// Delivers the outbox to the receivers. A 2xx delivers; a network error, a timeout, 429 or a
/// 5xx is retried with exponential backoff (`retry_initial` doubling to `retry_maximum`) until
/// `give_up_after`; any other answer is not retried and counts as failed.
public actor NotificationDelivery {
    public enum Outcome: Sendable, Equatable {
        case delivered
        case retry(String)
        case failed(String)
    }

    private let outbox: AlertOutbox
    private let receivers: [String: AlertSettings.Receiver]
    private let secrets: SecretStore
    private let httpClient: HTTPClient
    private let settings: AlertSettings
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let clock: @Sendable () -> Date
    private let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation
    /// Notifications in the outbox when last counted; while none are, the retry check has
    /// nothing to look for (new ones arrive through ``notify()``). Unknown, so 1, at first.
    private let queued = Atomic<Int>(1)

    static let sentHelp = "Notifications delivered, by receiver."
    static let failedHelp = "Notifications refused (4xx) or given up after retries, by receiver."
    static let queuedHelp = "Notifications waiting in the outbox, by receiver."

    public static let pagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

    public init(
        outbox: AlertOutbox, settings: AlertSettings, secrets: SecretStore, httpClient: HTTPClient, registry: PrometheusCollectorRegistry,
        logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.outbox = outbox
        self.settings = settings
        self.receivers = Dictionary(uniqueKeysWithValues: settings.receivers.map { ($0.name, $0) })
        self.secrets = secrets
        self.httpClient = httpClient
        self.registry = registry
        self.logger = logger
        self.clock = clock
        (wakeups, wakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        for receiver in settings.receivers {
            // Exported from the start at zero, so that rates and alerts over them work.
            let labels = [("receiver", receiver.name)]
            _ = registry.counter("vakt_alert_notifications_sent_total", help: Self.sentHelp, labels: labels)
            _ = registry.counter("vakt_alert_notifications_failed_total", help: Self.failedHelp, labels: labels)
            registry.gauge("vakt_alert_notifications_queued", help: Self.queuedHelp, labels: labels).set(to: 0)
            for secret in [receiver.urlSecret, receiver.tokenSecret, receiver.routingKeySecret].compactMap({ $0 })
            where secrets.secret(named: secret) == nil {
                logger.error(
                    "alert receiver secret missing; its notifications wait in the outbox",
                    metadata: ["receiver": "\(receiver.name)", "secret": "\(SecretStore.variable(for: secret))"])
            }
        }
    }

    /// New notifications are in the outbox.
    public nonisolated func notify() { wakeup.yield() }

    /// How often the outbox is looked at for retries that came due.
    static let retryCheckInterval: Duration = .milliseconds(250)

    /// Delivers until cancelled: at once for new notifications, and retries as they come due.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [wakeup] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.retryCheckInterval)
                    if self.queued.load(ordering: .relaxed) > 0 { wakeup.yield() }
                }
            }
            // One iterator for the whole run: an AsyncStream ends for good when the task
            // iterating it is cancelled.
            for await _ in wakeups {
                if Task.isCancelled { break }
                await deliverDue()
            }
            group.cancelAll()
        }
    }

    /// One pass over what is due; returns how many were attempted.
    @discardableResult
    public func deliverDue() async -> Int {
        let due: [AlertOutbox.Entry]
        do {
            due = try await outbox.due(at: clock(), limit: 64)
        } catch {
            logger.error("cannot read the alert outbox", metadata: ["error": "\(error)"])
            return 0
        }
        await withTaskGroup(of: (AlertOutbox.Entry, Outcome).self) { group in
            for entry in due {
                group.addTask { (entry, await self.attempt(entry)) }
            }
            for await (entry, outcome) in group {
                await record(entry, outcome)
            }
        }
        await updateQueued()
        return due.count
    }

    private func record(_ entry: AlertOutbox.Entry, _ outcome: Outcome) async {
        let labels = [("receiver", entry.receiver)]
        let metadata: Logger.Metadata = ["receiver": "\(entry.receiver)", "group": "\(entry.groupKey)", "attempt": "\(entry.attempts + 1)"]
        do {
            switch outcome {
            case .delivered:
                try await outbox.remove(entry.id)
                registry.counter("vakt_alert_notifications_sent_total", help: Self.sentHelp, labels: labels).increment()
                logger.info("alert notification delivered", metadata: metadata)
            case .failed(let why):
                try await outbox.remove(entry.id)
                countFailed(labels)
                logger.error("alert notification failed; not retried", metadata: metadata.merging(["error": "\(why)"]) { $1 })
            case .retry(let why):
                let now = clock()
                if now.timeIntervalSince(entry.createdAt) >= settings.giveUpAfter.seconds {
                    try await outbox.remove(entry.id)
                    countFailed(labels)
                    logger.error(
                        "alert notification given up after retrying", metadata: metadata.merging(["error": "\(why)"]) { $1 })
                    return
                }
                let delay = Self.backoff(attempt: entry.attempts + 1, initial: settings.retryInitial, maximum: settings.retryMaximum)
                try await outbox.reschedule(entry.id, at: now + delay.seconds, error: why)
                registry.counter(
                    "vakt_alert_notification_retries_total", help: "Delivery attempts that will be retried, by receiver.", labels: labels
                ).increment()
                logger.warning(
                    "alert notification not delivered; retrying",
                    metadata: metadata.merging(["error": "\(why)", "retry_in_ms": "\(delay.milliseconds)"]) { $1 })
            }
        } catch {
            logger.error("cannot update the alert outbox", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    private func countFailed(_ labels: [(String, String)]) {
        registry.counter("vakt_alert_notifications_failed_total", help: Self.failedHelp, labels: labels).increment()
    }

    private func updateQueued() async {
        guard let counts = try? await outbox.pendingCounts() else { return }
        queued.store(counts.values.reduce(0, +), ordering: .relaxed)
        for name in receivers.keys {
            registry.gauge("vakt_alert_notifications_queued", help: Self.queuedHelp, labels: [("receiver", name)]).set(
                to: Double(counts[name] ?? 0))
        }
    }

    /// The delay before retry number `attempt` (1 for the first).
    public static func backoff(attempt: Int, initial: Duration, maximum: Duration) -> Duration {
        var delay = initial
        for _ in 1..<max(attempt, 1) {
            delay = delay * 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// One HTTP attempt, classified.
    func attempt(_ entry: AlertOutbox.Entry) async -> Outcome {
        guard let receiver = receivers[entry.receiver] else {
            return .failed("receiver \"\(entry.receiver)\" is no longer configured")
        }
        let request: HTTPClientRequest
        switch Self.request(for: receiver, body: entry.body, secrets: secrets) {
        case .success(let built): request = built
        case .failure(let missing): return .retry(missing.description)
        }
        do {
            let response = try await httpClient.execute(request, timeout: .nanoseconds(Int64(settings.deliveryTimeout.seconds * 1e9)))
            let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            let code = Int(response.status.code)
            switch code {
            case 200..<300: return .delivered
            case 429, 500..<600: return .retry("HTTP \(code): \(body.prefix(200))")
            default: return .failed("HTTP \(code): \(body.prefix(200))")
            }
        } catch {
            return .retry("\(error)")
        }
    }

    struct MissingSecret: Error, CustomStringConvertible {
        var name: String
        var description: String { "secret \(SecretStore.variable(for: name)) is not set" }
    }

    static func request(for receiver: AlertSettings.Receiver, body: Data, secrets: SecretStore) -> Result<HTTPClientRequest, MissingSecret>
    {
        func secret(_ name: String) -> Result<Secret, MissingSecret> {
            secrets.secret(named: name).map { .success($0) } ?? .failure(MissingSecret(name: name))
        }
        var url = receiver.url ?? (receiver.kind == .pagerduty ? pagerDutyURL : "")
        if let urlSecret = receiver.urlSecret {
            switch secret(urlSecret) {
            case .success(let value): url = value.value
            case .failure(let missing): return .failure(missing)
            }
        }
        if receiver.kind == .alertmanager && !url.hasSuffix("/api/v2/alerts") {
            url = (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/api/v2/alerts"
        }
        var payload = body
        if receiver.kind == .pagerduty, let name = receiver.routingKeySecret {
            switch secret(name) {
            case .success(let key):
                if var object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] {
                    object["routing_key"] = key.value
                    payload = NotificationPayloads.encode(object)
                }
            case .failure(let missing): return .failure(missing)
            }
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "vakt-supervisor/\(VaktVersion.current)")
        if let name = receiver.tokenSecret {
            switch secret(name) {
            case .success(let token): request.headers.add(name: "Authorization", value: "Bearer \(token.value)")
            case .failure(let missing): return .failure(missing)
            }
        }
        request.body = .bytes(ByteBuffer(bytes: payload))
        return .success(request)
    }
}
