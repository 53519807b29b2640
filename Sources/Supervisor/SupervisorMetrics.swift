import Prometheus
import ServiceKit

/// The supervisor's metrics about its children.
struct SupervisorMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    static let startBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    func up(_ name: String, _ isUp: Bool) {
        registry.gauge("vakt_service_up", help: "1 while the child runs and is ready, else 0.", labels: [("service", name)])
            .set(to: isUp ? 1 : 0)
    }

    /// One series per state, 1 for the current one, as kube-state-metrics does.
    func state(_ name: String, _ current: ChildState) {
        for state in ChildState.allCases {
            registry.gauge(
                "vakt_service_state",
                help: "1 for the child's current state (stopped, waiting, starting, running, stopping, backoff, exited, failed).",
                labels: [("service", name), ("state", state.rawValue)]
            ).set(to: state == current ? 1 : 0)
        }
    }

    func started(_ name: String) {
        registry.counter("vakt_service_starts_total", help: "Child processes started.", labels: [("service", name)]).increment()
    }

    func exited(_ name: String, reason: String) {
        registry.counter("vakt_service_exits_total", help: "Child exits, by reason.", labels: [("service", name), ("reason", reason)])
            .increment()
    }

    func restarted(_ name: String, reason: String) {
        registry.counter(
            "vakt_service_restarts_total", help: "Child restarts after an exit, by the reason of the exit.",
            labels: [("service", name), ("reason", reason)]
        ).increment()
    }

    func failed(_ name: String) {
        registry.counter(
            "vakt_service_failures_total", help: "Times a child exceeded its restart intensity and was left failed.",
            labels: [("service", name)]
        ).increment()
    }

    func livenessFailed(_ name: String) {
        registry.counter(
            "vakt_liveness_failures_total", help: "Times a child was stopped for failing restart_after_failed_probes probes in a row.",
            labels: [("service", name)]
        ).increment()
    }

    func watchdogMissed(_ name: String) {
        registry.counter("vakt_watchdog_misses_total", help: "Watchdog deadlines a child missed.", labels: [("service", name)]).increment()
    }

    func startDuration(_ name: String, _ duration: Duration) {
        registry.histogram(
            "vakt_service_start_duration_seconds", help: "Time from spawning a child to its readiness.", buckets: Self.startBuckets,
            labels: [("service", name)]
        ).record(duration)
    }

    func notifyReceived(_ type: String) {
        registry.counter(
            "vakt_notify_messages_total", help: "sd_notify assignments received from children, by type.", labels: [("type", type)]
        )
        .increment()
    }

    func notifyRejected(reason: String) {
        registry.counter(
            "vakt_notify_rejected_total", help: "sd_notify datagrams ignored: from unknown senders, or malformed.",
            labels: [("reason", reason)]
        ).increment()
    }
}
