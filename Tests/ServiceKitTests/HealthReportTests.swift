import Foundation
import Testing

@testable import HealthFormat
@testable import ServiceKit

@Suite struct HealthReportTests {
    func parse(_ text: String) throws(HealthReport.ParseError) -> HealthReport {
        try HealthReport.parse(Array(text.utf8))
    }

    @Test func overallStatusIsTheWorstCheck() {
        let pass = HealthCheckResult(status: .pass)
        let warn = HealthCheckResult(status: .warn)
        let fail = HealthCheckResult(status: .fail)
        #expect(HealthReport(checks: [:]).status == .pass)
        #expect(HealthReport(checks: ["a": [pass], "b": [warn]]).status == .warn)
        #expect(HealthReport(checks: ["a": [pass], "b": [warn, fail]]).status == .fail)
        #expect(HealthReport(checks: ["a": [warn]]).httpStatusCode == 200)
        #expect(HealthReport(checks: ["a": [fail]]).httpStatusCode == 503)
    }

    @Test func encodedReportParsesBack() throws {
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let report = HealthReport(
            version: "1", serviceId: "test/gateway",
            checks: [
                "redis:responseTime": [HealthCheckResult(status: .fail, componentType: "datastore", time: time, output: "refused")],
                "uptime": [HealthCheckResult(status: .pass, componentType: "system", observedValue: 12.5, observedUnit: "s", time: time)],
            ])
        #expect(try HealthReport.parse(Array(report.encoded())) == report)
    }

    @Test(arguments: [
        ("", "empty body"),
        ("<html>down</html>", "not JSON: <html>down</html>"),
        ("[1, 2]", "top level is not a JSON object"),
        ("{}", "missing string field \"status\""),
        ("{\"status\": 1}", "missing string field \"status\""),
        ("{\"status\": \"ok\"}", "\"status\" is \"ok\", expected pass, warn or fail"),
        ("{\"status\": \"pass\", \"checks\": []}", "\"checks\" is not an object"),
        ("{\"status\": \"pass\", \"checks\": {\"a\": {}}}", "checks[\"a\"] is not an array of objects"),
        ("{\"status\": \"pass\", \"checks\": {\"a\": [{}]}}", "checks[\"a\"][0].status is missing or not pass, warn or fail"),
        (
            "{\"status\": \"pass\", \"checks\": {\"a\": [{\"status\": \"pass\", \"time\": \"yesterday\"}]}}",
            "checks[\"a\"][0].time \"yesterday\" is not an ISO 8601 time"
        ),
    ])
    func malformedBodiesGetPreciseReasons(body: String, reason: String) {
        #expect(throws: HealthReport.ParseError(reason: reason)) { try parse(body) }
    }

    @Test func oversizedBodyIsRefusedUnread() {
        let body = [UInt8](repeating: 0x20, count: HealthReport.maximumBodyBytes + 1)
        #expect(throws: HealthReport.ParseError.self) { try HealthReport.parse(body) }
    }
}
