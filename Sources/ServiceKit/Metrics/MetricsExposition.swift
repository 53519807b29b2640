import Metrics
import Prometheus
import PrometheusText

/// The process's Prometheus registry, fed by swift-metrics (libraries such as Hummingbird's
/// `MetricsMiddleware`) and by Vakt's own collectors, served on `/metrics` in text format 0.0.4.
public final class MetricsExposition: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let process: ProcessMetrics

    /// Creates the registry and makes it the process-wide swift-metrics backend; call once.
    public static func bootstrap(service: String, version: String) -> MetricsExposition {
        let exposition = MetricsExposition(service: service, version: version)
        MetricsSystem.bootstrap(DescribedMetricsFactory(registry: exposition.registry))
        return exposition
    }

    init(service: String, version: String) {
        registry = PrometheusCollectorRegistry()
        registry.gauge(
            "vakt_build_info", help: "Build information of this Vakt process; the value is always 1.",
            labels: [("service", service), ("version", version)]
        ).set(to: 1)
        process = ProcessMetrics(registry: registry)
    }

    /// The exposition, with process metrics read fresh.
    public func render() -> [UInt8] {
        process.update()
        return registry.emitToBuffer()
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

}
