import Prometheus
import ServiceKit
import VaktConfig

/// The supervisor's own metrics about its children.
struct SupervisorMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    func setUp(_ kind: ServiceKind, _ up: Bool) {
        registry.gauge(
            "vakt_service_up", help: "1 when the child reported READY=1 and is running.", labels: [("service", kind.rawValue)]
        ).set(to: up ? 1 : 0)
    }

    func restarted(_ kind: ServiceKind) {
        registry.counter(
            "vakt_service_restarts_total", help: "Child restarts after an unexpected exit.", labels: [("service", kind.rawValue)]
        ).increment()
    }

    func received(_ messageKind: String) {
        registry.counter(
            "vakt_notify_messages_total", help: "sd_notify assignments received from children.", labels: [("type", messageKind)]
        ).increment()
    }

    func rejected(reason: String) {
        registry.counter(
            "vakt_notify_rejected_total", help: "sd_notify datagrams ignored.", labels: [("reason", reason)]
        ).increment()
    }
}
