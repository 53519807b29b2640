import CoreMetrics
import Testing
import VaktTesting

@testable import ServiceKit

@Suite struct MetricsExpositionTests {
    @Test func exposesProcessAndBuildMetrics() {
        let text = String(decoding: MetricsExposition(service: "test", version: "9.9").render(), as: UTF8.self)
        for name in [
            "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
            "process_start_time_seconds", "process_virtual_memory_bytes",
        ] {
            #expect(text.contains("\n\(name) ") || text.hasPrefix("\(name) ") || text.contains("# TYPE \(name) "), "missing \(name)")
        }
        #expect(text.contains("vakt_build_info{service=\"test\",version=\"9.9\"} 1"))
    }

    @Test func libraryMetricsGetValidNamesAndHelpAndPassPromtool() async throws {
        let exposition = MetricsExposition(service: "test", version: "1")
        let factory = DescribedMetricsFactory(registry: exposition.registry)
        factory.makeCounter(label: "hb.requests", dimensions: [("http.route", "/health"), ("http.request.method", "GET")]).increment(by: 3)
        factory.makeTimer(label: "http.server.request.duration", dimensions: [("http.route", "/health")]).recordNanoseconds(2_000_000)
        factory.makeMeter(label: "3rd-party.queue depth", dimensions: []).set(Int64(4))
        let text = String(decoding: exposition.render(), as: UTF8.self)
        #expect(text.contains("http_requests_total{http_route=\"/health\",http_request_method=\"GET\"} 3"))
        #expect(text.contains("# HELP http_request_duration_seconds "))
        #expect(text.contains("_3rd_party_queue_depth 4"))
        let result = try await Promtool.checkMetrics(text)
        #expect(result.status == 0, "promtool: \(result.output)")
    }

    @Test func prometheusNamesAreValid() {
        #expect(DescribedMetricsFactory.prometheusName("a.b-c") == "a_b_c")
        #expect(DescribedMetricsFactory.prometheusName("9lives") == "_9lives")
        #expect(DescribedMetricsFactory.prometheusName("") == "_")
        #expect(DescribedMetricsFactory.prometheusName("ok_name:sub") == "ok_name:sub")
    }
}
