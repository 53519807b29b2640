import ServiceKit
import VaktConfig

/// Scrapes every ready child with a port (every Vakt service, and any other program given a
/// `port`) at `/metrics` every `metrics.scrape_interval` until shutdown.
enum ScrapeLoop {
    static func service(supervisor: Supervisor, aggregator: MetricsAggregator, configuration: VaktConfiguration) -> PeriodicService {
        // A service bound to every address is reached on loopback.
        let host = ["0.0.0.0", "::", ""].contains(configuration.http.host) ? "127.0.0.1" : configuration.http.host
        return PeriodicService(every: configuration.metrics.scrapeInterval) {
            var targets: [MetricsAggregator.Target] = []
            for child in await supervisor.snapshots() {
                guard let settings = configuration.service(named: child.name), let port = settings.port ?? settings.kind?.defaultPort
                else {
                    continue
                }
                if child.state == .running, child.ready, let pid = child.pid {
                    targets.append(.init(service: child.name, host: host, port: port, pid: pid))
                } else {
                    await aggregator.markDown(child.name, reason: "not running (\(child.state.rawValue))")
                }
            }
            await aggregator.scrape(targets)
        }
    }
}
