import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PrometheusText
import VaktConfig

/// One Prometheus endpoint for the whole system: the supervisor scrapes every child's
/// `/metrics` and serves its own metrics and all of theirs on `:8005/metrics`, each sample
/// labelled with `service` and `instance`.
///
/// A scrape is all or nothing, as in Prometheus: a failed or malformed one keeps nothing of
/// that body; the target's last good samples are still served (counted in
/// `vakt_scrape_samples_stale`) until `metrics.stale_after`, then dropped, and
/// `vakt_scrape_up` is 0 with the reason in `vakt_scrape_last_error_info`. A child that
/// restarted (a new pid) loses its old samples at once: its counters began again.
actor MetricsAggregator {
    struct Target: Sendable {
        var service: String
        var host: String
        var port: Int
        var pid: Int32
        var instance: String { "\(host):\(port)" }
    }

    private struct State {
        var families: [MetricFamily] = []
        var scrapedAt: ContinuousClock.Instant?
        var pid: Int32?
        var up = false
        var duration: Duration = .zero
        var samples = 0
        var lastError: String?
    }

    private let settings: MetricsSettings
    private let httpClient: HTTPClient
    private let logger: Logger
    private var states: [String: State] = [:]
    private var order: [String] = []

    init(settings: MetricsSettings, httpClient: HTTPClient, logger: Logger) {
        self.settings = settings
        self.httpClient = httpClient
        self.logger = logger
    }

    /// Scrapes every target concurrently and records the results.
    func scrape(_ targets: [Target]) async {
        let settings = self.settings
        let httpClient = self.httpClient
        let results = await withTaskGroup(of: (Target, Result<[MetricFamily], ScrapeError>, Duration).self) { group in
            for target in targets {
                group.addTask {
                    let started = ContinuousClock.now
                    let result = await Self.fetch(target, settings: settings, httpClient: httpClient)
                    return (target, result, ContinuousClock.now - started)
                }
            }
            var results: [(Target, Result<[MetricFamily], ScrapeError>, Duration)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (target, result, duration) in results { record(target, result, duration) }
    }

    /// Marks targets that were not scraped this round (stopped, restarting) as down.
    func markDown(_ service: String, reason: String) {
        guard var state = states[service] else { return }
        state.up = false
        state.lastError = reason
        states[service] = state
        dropExpired(service)
    }

    private func record(_ target: Target, _ result: Result<[MetricFamily], ScrapeError>, _ duration: Duration) {
        if !order.contains(target.service) { order.append(target.service) }
        var state = states[target.service] ?? State()
        if state.pid != target.pid {
            // A new process: whatever the old one reported is gone with it.
            state.families = []
            state.scrapedAt = nil
            state.pid = target.pid
        }
        state.duration = duration
        switch result {
        case .success(let families):
            state.families = Self.labelled(families, service: target.service, instance: target.instance)
            state.scrapedAt = .now
            state.samples = families.reduce(0) { $0 + $1.samples.count }
            state.up = true
            state.lastError = nil
        case .failure(let error):
            if state.up || state.lastError != error.description {
                logger.warning(
                    "scrape failed", metadata: ["target": "\(target.service)", "url": "\(target.instance)", "reason": "\(error)"])
            }
            state.up = false
            state.lastError = error.description
        }
        states[target.service] = state
        dropExpired(target.service)
    }

    private func dropExpired(_ service: String) {
        guard var state = states[service], !state.up, let scrapedAt = state.scrapedAt, ContinuousClock.now - scrapedAt > settings.staleAfter
        else {
            return
        }
        state.families = []
        state.scrapedAt = nil
        states[service] = state
    }

    /// The whole system's exposition: the supervisor's own metrics, every child's, and the
    /// scrape metrics per target.
    func render(own: [UInt8], service: String, instance: String) -> [UInt8] {
        for name in order { dropExpired(name) }
        var merger = FamilyMerger()
        do {
            merger.add(Self.labelled(try ExpositionParser().parse(own), service: service, instance: instance))
        } catch {
            logger.error("own metrics do not parse; serving children only", metadata: ["reason": "\(error)"])
        }
        for name in order { merger.add(states[name]?.families ?? []) }
        merger.add(scrapeFamilies())
        if !merger.conflicts.isEmpty {
            logger.warning("metric families with conflicting types left out", metadata: ["families": "\(merger.conflicts.sorted())"])
        }
        var output: [UInt8] = []
        output.reserveCapacity(own.count * (order.count + 1))
        ExpositionWriter.write(merger.families, into: &output)
        return output
    }

    private func scrapeFamilies() -> [MetricFamily] {
        var up = MetricFamily(
            name: "vakt_scrape_up", type: .gauge, help: "1 if the last scrape of the service's /metrics succeeded, else 0.")
        var duration = MetricFamily(
            name: "vakt_scrape_duration_seconds", type: .gauge, help: "How long the last scrape of the service's /metrics took.")
        var samples = MetricFamily(
            name: "vakt_scrape_samples_scraped", type: .gauge, help: "Samples in the last successful scrape of the service's /metrics.")
        var stale = MetricFamily(
            name: "vakt_scrape_samples_stale", type: .gauge,
            help: "Samples still served from an earlier scrape because the last one failed (dropped after metrics.stale_after).")
        var errors = MetricFamily(
            name: "vakt_scrape_last_error_info", type: .gauge, help: "1 with the reason the last scrape of the service failed.")
        for name in order {
            guard let state = states[name] else { continue }
            let labels = [Label("service", name)]
            up.samples.append(Sample(name: up.name, labels: labels, value: state.up ? 1 : 0))
            duration.samples.append(Sample(name: duration.name, labels: labels, value: state.duration.seconds))
            samples.samples.append(Sample(name: samples.name, labels: labels, value: Double(state.samples)))
            let staleCount = state.up ? 0 : state.families.reduce(0) { $0 + $1.samples.count }
            stale.samples.append(Sample(name: stale.name, labels: labels, value: Double(staleCount)))
            if let reason = state.lastError {
                errors.samples.append(Sample(name: errors.name, labels: labels + [Label("reason", reason)], value: 1))
            }
        }
        return [up, duration, samples, stale, errors]
    }

    /// Adds `service` and `instance`; where a child already uses one of them, its own label is
    /// kept and the added one is named `exported_<label>`.
    static func labelled(_ families: [MetricFamily], service: String, instance: String) -> [MetricFamily] {
        families.map { family in
            var family = family
            family.samples = family.samples.map { sample in
                var sample = sample
                for added in [Label("service", service), Label("instance", instance)] {
                    let name = sample.labels.contains { $0.name == added.name } ? "exported_" + added.name : added.name
                    sample.labels.append(Label(name, added.value))
                }
                return sample
            }
            return family
        }
    }

    struct ScrapeError: Error, CustomStringConvertible {
        var description: String
    }

    static func fetch(_ target: Target, settings: MetricsSettings, httpClient: HTTPClient) async -> Result<[MetricFamily], ScrapeError> {
        var request = HTTPClientRequest(url: "http://\(target.instance)/metrics")
        request.headers.add(name: "Accept", value: "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=1")
        let body: ByteBuffer
        let contentType: String?
        do {
            let response = try await httpClient.execute(request, timeout: .milliseconds(settings.scrapeTimeout.milliseconds))
            guard response.status == .ok else { return .failure(ScrapeError(description: "HTTP \(response.status.code)")) }
            contentType = response.headers.first(name: "content-type")
            body = try await response.body.collect(upTo: settings.maxBodyBytes)
        } catch let error as NIOTooManyBytesError {
            _ = error
            return .failure(ScrapeError(description: "body larger than \(settings.maxBodyBytes) bytes"))
        } catch {
            return .failure(ScrapeError(description: "\(error)"))
        }
        do {
            let parser = ExpositionParser(format: ExpositionParser.format(contentType: contentType), maxSamples: settings.maxSamples)
            return .success(try parser.parse(Array(buffer: body)))
        } catch {
            return .failure(ScrapeError(description: "parse error: \(error)"))
        }
    }
}

/// Families from several sources joined by name, in the order first seen.
struct FamilyMerger {
    private(set) var families: [MetricFamily] = []
    private var index: [String: Int] = [:]
    private(set) var conflicts: Set<String> = []

    mutating func add(_ more: [MetricFamily]) {
        for family in more {
            guard let position = index[family.name] else {
                index[family.name] = families.count
                families.append(family)
                continue
            }
            guard families[position].type == family.type else {
                conflicts.insert(family.name)
                continue
            }
            families[position].samples += family.samples
            if families[position].help == nil { families[position].help = family.help }
        }
    }
}
