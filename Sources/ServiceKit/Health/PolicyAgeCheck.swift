import PolicyStore

/// The service's copy of the risk policy: `warn` when it is older than the aging limit (it
/// says how old and why it could not be refreshed), `warn` too while no policy was ever loaded.
public struct PolicyAgeCheck: HealthCheck {
    public let replica: PolicyReplica
    public let key = "policy:age"
    public let componentType = "component"

    public init(replica: PolicyReplica) {
        self.replica = replica
    }

    public func measure() async throws -> HealthMeasurement {
        guard let copy = replica.current, let age = replica.age else {
            let why = replica.refreshError.map { ": \($0)" } ?? ""
            return HealthMeasurement(status: .warn, unit: "s", output: "no risk policy loaded yet" + why)
        }
        let limit = replica.agingLimit.seconds
        let described = "policy version \(copy.document.version) from \(copy.origin.rawValue), confirmed \(Int(age)) s ago"
        guard age <= limit else {
            let why = replica.refreshError.map { "; last refresh failed: \($0)" } ?? ""
            return HealthMeasurement(
                status: .warn, value: age.rounded(), unit: "s", output: described + " (aging limit \(Int(limit)) s)" + why)
        }
        return HealthMeasurement(value: age.rounded(), unit: "s", output: described)
    }
}
