import EventBus
import ServiceKit
import VaktConfig

/// `eventbus:lag` in the supervisor's `/health`: `warn` while any consumer group is not OK,
/// naming each with its verdict and reason.
struct ConsumerLagCheck: HealthCheck {
    let monitor: ConsumerLagMonitor
    let key = "eventbus:lag"
    let componentType = "component"

    func measure() async throws -> HealthMeasurement {
        let groups = monitor.groups
        let troubled = groups.filter { $0.verdict.status != .ok }
        guard !troubled.isEmpty else {
            return HealthMeasurement(value: 0, unit: "groups", output: "\(groups.count) consumer groups OK")
        }
        let described = troubled.map { "\($0.group) on \($0.stream): \($0.verdict.status.rawValue) (\($0.verdict.reason))" }
        return HealthMeasurement(status: .warn, value: Double(troubled.count), unit: "groups", output: described.joined(separator: "; "))
    }
}
