import Testing

@testable import ServiceKit

struct FixedCheck: HealthCheck {
    let key: String
    let componentType = "component"
    let delay: Duration
    let outcome: Result<HealthMeasurement, TestFailure>

    struct TestFailure: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    func measure() async throws -> HealthMeasurement {
        try await Task.sleep(for: delay)
        return try outcome.get()
    }
}

@Suite struct HealthCheckerTests {
    @Test func slowCheckFailsAtTheTimeoutWhileOthersPass() async {
        let checker = HealthChecker(
            checks: [
                FixedCheck(key: "fast:responseTime", delay: .zero, outcome: .success(HealthMeasurement(value: 1, unit: "ms"))),
                // Never answers in this test's lifetime: the report must not wait for it.
                FixedCheck(key: "slow:responseTime", delay: .seconds(3600), outcome: .success(HealthMeasurement())),
            ],
            timeout: .milliseconds(100), serviceId: "test", version: "1")
        let started = ContinuousClock.now
        let report = await checker.report()
        // Far below the slow check's hour and far above the timeout, so a loaded machine that
        // runs the timer late still passes (a busy CI run once took 10.25 s here).
        #expect(ContinuousClock.now - started < .seconds(600), "the report waited for the slow check")
        #expect(report.status == .fail)
        #expect(report.checks["fast:responseTime"]?.first?.status == .pass)
        #expect(report.checks["slow:responseTime"]?.first?.status == .fail)
        #expect(report.checks["slow:responseTime"]?.first?.output == "no answer within 100 ms")
    }

    @Test func thrownErrorBecomesFailWithItsText() async {
        let checker = HealthChecker(
            checks: [FixedCheck(key: "redis:responseTime", delay: .zero, outcome: .failure(FixedCheck.TestFailure()))],
            // Generous: the check answers at once, and a loaded machine may still be slow to run it.
            timeout: .seconds(60), serviceId: "test", version: "1")
        let report = await checker.report()
        #expect(report.checks["redis:responseTime"]?.first?.output == "connection refused")
        #expect(report.httpStatusCode == 503)
    }

    @Test func warningMeasurementKeepsTheServiceUp() async {
        let checker = HealthChecker(
            checks: [
                FixedCheck(key: "gateway:responseTime", delay: .zero, outcome: .success(HealthMeasurement(status: .warn, output: "slow")))
            ],
            timeout: .seconds(60), serviceId: "test", version: "1")
        let report = await checker.report()
        #expect(report.status == .warn)
        #expect(report.httpStatusCode == 200)
    }
}
