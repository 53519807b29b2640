import Foundation
import PrometheusText
import Testing
import VaktConfig
import VaktTesting

/// `:8005/metrics` aggregating real child processes: plain HTTP servers (python3 -m
/// http.server) serving a file as `/metrics`, which the test rewrites to good or bad text.
@Suite struct MetricsAggregationTests {
    final class MetricsFile: Sendable {
        let directory: URL
        let port = TestEnvironment.freePort()

        init() throws {
            directory = try TestEnvironment.temporaryDirectory("metrics-child")
        }

        func serve(_ text: String) throws {
            try text.write(to: directory.appendingPathComponent("metrics"), atomically: true, encoding: .utf8)
        }

        var program: [String] {
            [
                "command: [\"\(TestEnvironment.which("python3") ?? "/usr/bin/python3")\", \"-m\", \"http.server\", \"\(port)\", \"--bind\", \"127.0.0.1\", \"--directory\", \"\(directory.path)\"]",
                "port: \(port)", "readiness: none",
            ]
        }
    }

    static let good = """
        # HELP orders_total Orders sent.
        # TYPE orders_total counter
        orders_total{service="execution-engine",side="buy"} 12
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="0.1"} 3
        latency_seconds_bucket{le="+Inf"} 4
        latency_seconds_sum 0.5
        latency_seconds_count 4

        """

    static func families(_ text: String) throws -> [String: MetricFamily] {
        let families = try ExpositionParser().parse(Array(text.utf8))
        return Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })
    }

    static func value(_ families: [String: MetricFamily], _ name: String, service: String) -> Double? {
        families[name]?.samples.first { $0.labels.contains(Label("service", service)) }?.value
    }

    @Test func childrenAreLabelledFailuresAreAllOrNothingAndRestartsDoNotLinger() async throws {
        let healthy = try MetricsFile()
        let broken = try MetricsFile()
        try healthy.serve(Self.good)
        try broken.serve("orders_total{side=\"buy\" 12\n")
        let system = try await SupervisedSystem(
            programs: [("healthy", healthy.program), ("broken", broken.program)],
            sections: "metrics:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n  stale_after: 60s\n")
        defer { Task { _ = await system.stop() } }
        #expect(await system.waitFor("healthy") { $0["ready"] as? Bool == true })

        var families: [String: MetricFamily] = [:]
        #expect(
            await TestEnvironment.eventually {
                families = (try? Self.families(try await system.metrics())) ?? [:]
                let brokenReason = families["vakt_scrape_last_error_info"]?.samples.first {
                    $0.labels.contains(Label("service", "broken"))
                }?
                .labels.first { $0.name == "reason" }?.value
                return Self.value(families, "vakt_scrape_up", service: "healthy") == 1
                    && Self.value(families, "vakt_scrape_up", service: "broken") == 0 && brokenReason?.hasPrefix("parse error") == true
            })
        // The child's own `service` label is kept; the added one is exported_service.
        let order = try #require(families["orders_total"]?.samples.first { $0.labels.contains(Label("exported_service", "healthy")) })
        #expect(order.labels.contains(Label("service", "execution-engine")))
        #expect(order.labels.contains(Label("instance", "127.0.0.1:\(healthy.port)")))
        #expect(families["latency_seconds"]?.samples.count == 4)
        #expect(families["process_resident_memory_bytes"]?.samples.first?.labels.contains(Label("service", "supervisor")) == true)
        let reason = families["vakt_scrape_last_error_info"]?.samples.first { $0.labels.contains(Label("service", "broken")) }?
            .labels.first { $0.name == "reason" }?.value
        #expect(reason == "parse error: line 1: expected , or } after label side", "\(reason ?? "none")")
        #expect(Self.value(families, "vakt_scrape_samples_scraped", service: "healthy") == 5)
        let promtool = try await Promtool.checkMetrics(try await system.metrics())
        #expect(!promtool.output.contains("error"), "\(promtool.output)")

        // A bad scrape keeps the last good samples (counted stale), as all-or-nothing.
        try healthy.serve("garbage here\n")
        #expect(
            await TestEnvironment.eventually {
                families = (try? Self.families(try await system.metrics())) ?? [:]
                return Self.value(families, "vakt_scrape_up", service: "healthy") == 0
            })
        #expect(Self.value(families, "vakt_scrape_samples_stale", service: "healthy") == 5)
        #expect(families["orders_total"]?.samples.isEmpty == false)

        // A restarted child starts from nothing: its old samples go at once.
        let before = try #require(await system.service("healthy")?["pid"] as? Int)
        #expect(try await system.control("restart", "healthy").status == 200)
        #expect(await system.waitFor("healthy") { $0["pid"] as? Int != before && $0["ready"] as? Bool == true })
        #expect(
            await TestEnvironment.eventually {
                families = (try? Self.families(try await system.metrics())) ?? [:]
                return families["orders_total"] == nil && Self.value(families, "vakt_scrape_samples_stale", service: "healthy") == 0
            })
        #expect(Self.value(families, "vakt_scrape_up", service: "healthy") == 0)
    }

    @Test func aBodyOverTheCapFailsTheScrape() async throws {
        let huge = try MetricsFile()
        // 100 MB of valid samples, far over a 1 MiB cap.
        let line = Array("padding_metric{label=\"\(String(repeating: "x", count: 80))\"} 1\n".utf8)
        var body: [UInt8] = []
        body.reserveCapacity(100 << 20)
        var index = 0
        while body.count < 100 << 20 {
            body += Array("m\(index)".utf8) + line
            index += 1
        }
        try Data(body).write(to: huge.directory.appendingPathComponent("metrics"))
        let system = try await SupervisedSystem(
            programs: [("huge", huge.program)],
            sections: "metrics:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n  max_body_bytes: 1048576\n")
        defer { Task { _ = await system.stop() } }
        var families: [String: MetricFamily] = [:]
        var reason: String?
        // The first scrapes may find the server not listening yet; the cap must show next.
        #expect(
            await TestEnvironment.eventually {
                families = (try? Self.families(try await system.metrics())) ?? [:]
                reason =
                    families["vakt_scrape_last_error_info"]?.samples.first { $0.labels.contains(Label("service", "huge")) }?
                    .labels.first { $0.name == "reason" }?.value
                return reason == "body larger than 1048576 bytes"
            }, "\(reason ?? "none")")
        #expect(Self.value(families, "vakt_scrape_up", service: "huge") == 0)
    }
}
